import { describe, expect, it } from 'vitest';
import { ianaName, timeZoneChoices, zoneLabel } from './time-zones';

describe('time zone choices', () => {
  it("lists IANA's names, never CLDR's old ones, with UTC first", () => {
    const choices = timeZoneChoices('UTC');
    expect(choices[0]).toBe('UTC');
    expect(choices).toEqual(expect.arrayContaining(['Europe/Kyiv', 'Asia/Kolkata', 'Asia/Kathmandu']));
    expect(choices).not.toEqual(expect.arrayContaining(['Europe/Kiev']));
    expect(
      choices.filter((zone) =>
        ['Asia/Calcutta', 'Asia/Katmandu', 'Asia/Saigon', 'Africa/Asmera', 'America/Coral_Harbour'].includes(
          zone,
        ),
      ),
    ).toEqual([]);
    expect(choices).toEqual(expect.arrayContaining(['Africa/Asmara', 'America/Atikokan']));
    // Each is a zone the browser's Intl takes, so that dates can be shown in it.
    for (const zone of choices) expect(() => new Intl.DateTimeFormat('en', { timeZone: zone })).not.toThrow();
    expect(new Set(choices).size).toBe(choices.length);
    expect(choices.slice(1)).toEqual([...choices.slice(1)].sort((a, b) => a.localeCompare(b)));
  });

  it("keeps the business's zone even where this browser does not list it", () => {
    expect(timeZoneChoices('US/Pacific')).toContain('US/Pacific');
    // An old name saved before it was renamed here stays selectable as it is stored.
    expect(timeZoneChoices('America/Coral_Harbour')).toEqual(
      expect.arrayContaining(['America/Coral_Harbour', 'America/Atikokan']),
    );
  });

  it('maps only renamed zones', () => {
    expect(ianaName('Asia/Saigon')).toBe('Asia/Ho_Chi_Minh');
    expect(ianaName('Africa/Asmera')).toBe('Africa/Asmara');
    expect(ianaName('Europe/Paris')).toBe('Europe/Paris');
    expect(zoneLabel('America/Argentina/Buenos_Aires')).toBe('America/Argentina/Buenos Aires');
  });
});
