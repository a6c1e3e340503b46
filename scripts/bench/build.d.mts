/** Types of build.mjs, for the TypeScript that imports it (test/onnx-worker.ts, test/bench). */
export declare function compatibilityDate(config?: string): string;
export declare function buildBundle(
  outdir: string,
  options?: { minify?: boolean; metafile?: string; entry?: string; config?: string },
): Promise<{ stdout: string; totalKiB?: number; gzipKiB?: number }>;
