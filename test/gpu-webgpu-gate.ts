// Whether the webgpu tests run: they need a WebGPU adapter (CI installs Mesa's lavapipe, see .ci/run).
// Locally a missing adapter skips them with the reason; in CI (CI=true) it does not skip, so the
// suites' own setup fails and the run fails with the reason.
import { probeWebGpu, type WebGpuProbe } from '../engine/gpu/detect.ts';

export const IN_CI = /^(1|true)$/i.test(process.env.CI ?? '');

export interface WebGpuGate {
  probe: WebGpuProbe;
  available: boolean;
  /** True when the webgpu tests should not run (no adapter, and not CI). */
  skip: boolean;
  /** For describe titles: the adapter, or why the tests skip. */
  title: string;
}

export function webgpuGate(file: string): WebGpuGate {
  const probe = probeWebGpu();
  const available = !!probe.adapter;
  const skip = !available && !IN_CI;
  if (skip) console.warn(`[${file}] webgpu tests SKIPPED: ${probe.reason}`);
  const title = available ? `adapter ${probe.adapter!.device || probe.adapter!.description}${probe.adapter!.software ? ', software' : ''}` : `no adapter: ${probe.reason}`;
  return { probe, available, skip, title };
}

/** Runs `fn` with the Vulkan driver hidden from Dawn (for "no adapter" paths on a machine that has one). */
export function withoutVulkanDriver<T>(fn: () => T): T {
  const saved = process.env.VK_ICD_FILENAMES;
  process.env.VK_ICD_FILENAMES = '/nonexistent/roam-no-driver.json';
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.VK_ICD_FILENAMES;
    else process.env.VK_ICD_FILENAMES = saved;
  }
}
