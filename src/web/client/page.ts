/**
 * What a dashboard page is given and how it navigates: the router (main.ts) renders pages with a
 * {@link PageContext}; pages move to another page with {@link go}. Kept apart from main.ts so that pages do not
 * import the router that imports them.
 */

export interface PageContext {
  main: HTMLElement;
  params: URLSearchParams;
  /** False once the user has navigated away: async work checks it before touching the DOM. */
  alive: () => boolean;
}

/** Navigates to a page with params (pushes a history entry). */
export function go(page: string, params: Record<string, string> = {}): void {
  const q = new URLSearchParams(params).toString();
  location.hash = `#/${page}${q ? `?${q}` : ''}`;
}
