// Client-side navigation over the History API: real URLs (bookmarkable, shareable, the back
// button works), links that are plain <a href> for keyboards, screen readers and "open in a new
// tab", and the server answering every such path with the portal's page.

import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";

export interface Location {
  readonly path: string;
  readonly query: URLSearchParams;
}

const listeners = new Set<() => void>();

function current(): Location {
  return { path: window.location.pathname, query: new URLSearchParams(window.location.search) };
}

window.addEventListener("popstate", () => listeners.forEach((listener) => listener()));

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === window.location.pathname + window.location.search) return;
  if (options.replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  listeners.forEach((listener) => listener());
}

/** The current location; the component renders again when it changes. */
export function useLocation(): Location {
  const [location, setLocation] = useState(current);
  useEffect(() => {
    const listener = () => setLocation(current());
    listeners.add(listener);
    return () => listeners.delete(listener);
  }, []);
  return location;
}

/** Changes one query parameter of the current page (paging, filters) without a new history entry per keystroke. */
export function setQuery(changes: Record<string, string | number | undefined>, options: { replace?: boolean } = {}) {
  const query = new URLSearchParams(window.location.search);
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined || value === "") query.delete(key);
    else query.set(key, String(value));
  }
  const search = query.toString();
  navigate(`${window.location.pathname}${search ? `?${search}` : ""}`, options);
}

interface LinkProps {
  readonly href: string;
  readonly children: ComponentChildren;
  readonly class?: string;
  readonly "aria-current"?: "page";
  readonly "aria-label"?: string;
}

/** An ordinary link that navigates in place on a plain click. */
export function Link({ href, children, ...rest }: LinkProps) {
  const onClick = (event: MouseEvent) => {
    if (
      event.defaultPrevented ||
      event.button !== 0 ||
      event.metaKey ||
      event.ctrlKey ||
      event.shiftKey ||
      event.altKey
    ) {
      return;
    }
    event.preventDefault();
    navigate(href);
  };
  return (
    <a href={href} onClick={onClick} {...rest}>
      {children}
    </a>
  );
}

export interface RouteMatch<Params> {
  readonly params: Params;
}

/** Matches `pattern` (segments, `:name` for one segment) against a path; decoded params or undefined. */
export function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const patternParts = pattern.split("/").filter(Boolean);
  const pathParts = path.split("/").filter(Boolean);
  if (patternParts.length !== pathParts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < patternParts.length; i++) {
    const expected = patternParts[i] as string;
    const actual = pathParts[i] as string;
    if (expected.startsWith(":")) {
      try {
        params[expected.slice(1)] = decodeURIComponent(actual);
      } catch {
        return undefined;
      }
    } else if (expected !== actual) {
      return undefined;
    }
  }
  return params;
}
