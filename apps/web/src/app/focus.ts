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
