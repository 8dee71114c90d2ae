// Types of summary.js for the Node wrapper (record.ts), which reads the crossed thresholds.
export function failedThresholds(data: { metrics: Record<string, { thresholds?: Record<string, { ok: boolean }> } | undefined> }): string[];
