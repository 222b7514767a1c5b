/**
 * Focus after navigation: the new page's title takes focus, so keyboard and screen-reader users
 * land at the top of the new content instead of on a link that no longer exists. Not on the first
 * load, where the browser's own start is right.
 */
let pending = false;

export function focusTitleOnNextPage(): void {
  pending = true;
}

export function takePendingTitleFocus(element: HTMLElement | null): void {
  if (pending && element) {
    pending = false;
    element.focus();
  }
}

/** What Tab reaches: enabled, shown, and not taken out of the tab order. */
const CONTROLS =
  'a[href], button, input:not([type="hidden"]), select, textarea, [tabindex]:not([tabindex="-1"])';

/** Where a lost control stood: in `parent`, after `before` (null: it came first). */
interface Place {
  parent: Node;
  before: Node | null;
}

/** Where `node` stood, when one of these changes took it (or what held it) out. */
function removalOf(node: Node, records: MutationRecord[]): Place | null {
  const record = records.find((change) =>
    [...change.removedNodes].some((removed) => removed === node || removed.contains(node)),
  );
  return record ? { parent: record.target, before: record.previousSibling } : null;
}

/** Whether `node` comes after the place (not inside what stands before it). */
function isAfter(place: Place, node: Node): boolean {
  if (place.before?.isConnected) {
    const position = place.before.compareDocumentPosition(node);
    return (
      (position & Node.DOCUMENT_POSITION_FOLLOWING) !== 0 &&
      (position & Node.DOCUMENT_POSITION_CONTAINED_BY) === 0
    );
  }
  return (place.parent.compareDocumentPosition(node) & Node.DOCUMENT_POSITION_FOLLOWING) !== 0;
}

/**
 * Keeps keyboard focus inside `container` when the control that has it goes away or is disabled:
 * a form replaced by its result, "Show more" by the rows it loaded, a field of a form that is
 * being sent. Browsers drop focus to <body> then, where Enter does nothing and a screen reader
 * loses its place. Unless the app moves focus itself first (a note of what came of an action, a
 * dialog giving focus back, a new page's title), focus goes to what was added where the lost one
 * stood (its first control, or the new content itself), else to the next control after its place,
 * else the one before, else to `fallback()` (a title). Controls in a dialog within `container` are
 * left to that dialog. Returns what stops it.
 */
export function keepFocusWithin(container: HTMLElement, fallback: () => HTMLElement | null): () => void {
  const dialog = container.closest('dialog');
  let focused: HTMLElement | null = null;
  let lost: { control: HTMLElement; place: Place; added: Node[] } | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const shown = (element: HTMLElement) =>
    element.closest('dialog') === dialog && element.getClientRects().length > 0;

  const replacement = ({ place, added }: NonNullable<typeof lost>): HTMLElement | null => {
    const controls = [...container.querySelectorAll<HTMLElement>(CONTROLS)].filter(
      (control) => shown(control) && !control.matches(':disabled'),
    );
    // What came in where the lost control stood, first in reading order: its first control, or
    // itself (rows without links, a note), made focusable from a script only.
    const fresh = added
      .filter(
        (node): node is HTMLElement =>
          node instanceof HTMLElement && node.isConnected && place.parent.contains(node) && shown(node),
      )
      .sort((a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1))[0];
    if (fresh) {
      const control = controls.find((candidate) => fresh.contains(candidate));
      if (control) return control;
      if (!fresh.hasAttribute('tabindex')) fresh.tabIndex = -1;
      return fresh;
    }
    return (
      controls.find((control) => isAfter(place, control)) ??
      controls.filter((control) => !isAfter(place, control)).pop() ??
      fallback()
    );
  };

  const rescue = () => {
    const gone = lost;
    lost = null;
    timer = undefined;
    if (!gone || pending || container.getClientRects().length === 0) return;
    const active = document.activeElement;
    const dropped =
      !active || active === document.body || (active === gone.control && gone.control.matches(':disabled'));
    if (dropped) replacement(gone)?.focus();
  };

  const onFocusIn = (event: FocusEvent) => {
    const target = event.target as HTMLElement;
    focused = target.closest('dialog') === dialog ? target : null;
  };

  const observer = new MutationObserver((records) => {
    if (focused && (!focused.isConnected || focused.matches(':disabled'))) {
      lost = {
        control: focused,
        place: removalOf(focused, records) ?? { parent: focused.parentNode ?? container, before: focused },
        added: [],
      };
      focused = null;
    }
    if (!lost) return;
    // What held the lost control may have gone since (a form once sent): its place is then where that stood.
    if (!lost.place.parent.isConnected) lost.place = removalOf(lost.place.parent, records) ?? lost.place;
    lost.added.push(...records.flatMap((record) => [...record.addedNodes]));
    // A moment later: the app's own move of focus, made in an effect after this change, comes first.
    timer ??= setTimeout(rescue, 50);
  });

  container.addEventListener('focusin', onFocusIn);
  observer.observe(container, {
    childList: true,
    subtree: true,
    attributes: true,
    attributeFilter: ['disabled'],
  });
  return () => {
    clearTimeout(timer);
    observer.disconnect();
    container.removeEventListener('focusin', onFocusIn);
  };
}
