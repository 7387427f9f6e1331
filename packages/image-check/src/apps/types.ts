/** One installed package, with virt-inspector's `<application>` fields that the database gives. */
export interface Application {
  name: string;
  epoch?: number;
  version?: string;
  release?: string;
  arch?: string;
  url?: string;
  sourcePackage?: string;
  summary?: string;
  description?: string;
}

export const MAX_PACKAGES = 100_000;
