/** apps/cli/dist/bundle, where `npm start`, the `xenkit` bin and `nx run cli:bundle` expect the build. */
export declare const defaultOutdir: string;

export interface BundleOptions {
  /** Output directory; it must sit inside the workspace so the packages left external resolve. */
  outdir?: string;
}

/** Build the production CLI; resolves to the executable to run with `node` (OUTDIR/xenkit.cjs). */
export declare function bundle(options?: BundleOptions): Promise<string>;
