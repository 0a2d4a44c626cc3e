// Loading what a page shows: the value, the error, whether it is loading, and a way to load it
// again after a change. A request still running when its inputs change is aborted, so a slow
// answer for an old page never overwrites a newer one.

import { useCallback, useLayoutEffect, useRef, useState } from "preact/hooks";

export interface Resource<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  readonly reload: () => void;
}

export function useResource<T>(load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[]): Resource<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  // Started as the component mounts, not after the browser paints it: a page whose data depends
  // on its frame's (a project's artifacts on the project) would otherwise wait a frame per step.
  useLayoutEffect(() => {
    const controller = new AbortController();
    setState((previous) => ({ ...previous, loading: true, error: undefined }));
    loadRef
      .current(controller.signal)
      .then((data) => !controller.signal.aborted && setState({ data, error: undefined, loading: false }))
      .catch(
        (error: unknown) =>
          !controller.signal.aborted && setState((previous) => ({ data: previous.data, error, loading: false })),
      );
    return () => controller.abort();
  }, [...deps, generation]);
  const reload = useCallback(() => setGeneration((n) => n + 1), []);
  return { ...state, reload };
}
