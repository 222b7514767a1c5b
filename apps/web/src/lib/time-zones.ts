/**
 * CLDR, and so the browser's Intl, still names these zones as IANA did before renaming or moving
 * them (Intl.supportedValuesOf gives Europe/Kiev and Asia/Calcutta); IANA's own names are shown
 * and stored. Both name the same zone to PostgreSQL and to every Intl, so either works; this is
 * what a merchant reads. The renames since CLDR froze its identifiers, from tzdata's `backward`:
 * every name Intl lists that IANA's zone.tab does not (checked with Chromium 156 and Node 20: ICU 78,
 * tzdata 2025c).
 */
const IANA_NAMES: Readonly<Record<string, string>> = {
  'Africa/Asmera': 'Africa/Asmara',
  'America/Buenos_Aires': 'America/Argentina/Buenos_Aires',
  'America/Catamarca': 'America/Argentina/Catamarca',
  'America/Coral_Harbour': 'America/Atikokan',
  'America/Cordoba': 'America/Argentina/Cordoba',
  'America/Godthab': 'America/Nuuk',
  'America/Indianapolis': 'America/Indiana/Indianapolis',
  'America/Jujuy': 'America/Argentina/Jujuy',
  'America/Louisville': 'America/Kentucky/Louisville',
  'America/Mendoza': 'America/Argentina/Mendoza',
  'Asia/Calcutta': 'Asia/Kolkata',
  'Asia/Katmandu': 'Asia/Kathmandu',
  'Asia/Rangoon': 'Asia/Yangon',
  'Asia/Saigon': 'Asia/Ho_Chi_Minh',
  'Atlantic/Faeroe': 'Atlantic/Faroe',
  'Europe/Kiev': 'Europe/Kyiv',
  'Pacific/Enderbury': 'Pacific/Kanton',
  'Pacific/Ponape': 'Pacific/Pohnpei',
  'Pacific/Truk': 'Pacific/Chuuk',
};

export function ianaName(zone: string): string {
  return IANA_NAMES[zone] ?? zone;
}

/** The zones to choose from, by their IANA names, UTC first, with `current` even if unknown here. */
export function timeZoneChoices(current: string): string[] {
  const names = new Set(Intl.supportedValuesOf('timeZone').map(ianaName));
  names.add('UTC');
  names.add(current);
  return [...names].sort((a, b) => (a === 'UTC' ? -1 : b === 'UTC' ? 1 : a.localeCompare(b)));
}

/** The zone this browser is in, or undefined where it cannot tell (Etc/Unknown). */
export function browserTimeZone(): string | undefined {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return zone && Intl.supportedValuesOf('timeZone').includes(zone) ? ianaName(zone) : undefined;
}

/** How a zone is listed: `America/Argentina/Buenos_Aires` as `America/Argentina/Buenos Aires`. */
export function zoneLabel(zone: string): string {
  return zone.replaceAll('_', ' ');
}
