import { useSyncExternalStore } from 'react';

const reduceMotion = window.matchMedia('(prefers-reduced-motion: reduce)');

function subscribe(onChange: () => void): () => void {
  reduceMotion.addEventListener('change', onChange);
  return () => reduceMotion.removeEventListener('change', onChange);
}

/** Whether the user asked the system for less motion; follows the setting while the page is open. */
export function usePrefersReducedMotion(): boolean {
  return useSyncExternalStore(subscribe, () => reduceMotion.matches);
}
