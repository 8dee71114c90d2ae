// A system and its driver processes, started together and always stopped
// together; and the core layout they run on.
import { availableParallelism } from 'node:os';
import { startSystem, type SystemName, type SystemOptions } from './systems.js';
import { startDrivers } from './driver/pool.js';
import { DRIVER_PROCESSES } from './limits.js';
import type { Setup } from './workloads.js';

export interface CoreLayout {
  cores: number;
  /** taskset core lists, when the machine has enough cores to keep the driver apart. */
  servers?: string;
  drivers?: string;
  description: string;
}

/** On 4 or more cores the servers get the first half and the drivers the rest; below that they share. */
export function coreLayout(cores = availableParallelism()): CoreLayout {
  if (cores < 4) return { cores, description: `${cores} cores shared by the servers, Redis and the driver (fewer than 4: not pinned)` };
  const half = Math.floor(cores / 2);
  const servers = `0-${half - 1}`;
  const drivers = `${half}-${cores - 1}`;
  return { cores, servers, drivers, description: `${cores} cores: servers and Redis pinned to ${servers}, driver processes to ${drivers} (taskset)` };
}

export async function withSetup<T>(
  name: SystemName,
  options: SystemOptions & { drivers?: number; layout?: CoreLayout },
  run: (setup: Setup) => Promise<T>,
): Promise<T> {
  const layout = options.layout ?? coreLayout();
  const system = await startSystem(name, { ...options, cores: layout.servers });
  try {
    const drivers = await startDrivers(options.drivers ?? DRIVER_PROCESSES, layout.drivers);
    try {
      return await run({ system, drivers });
    } finally {
      await drivers.stop();
    }
  } finally {
    await system.stop();
  }
}
