// The values other layers (the CDKTF stacks, the Packer AMI, the local cluster,
// the k6 scripts) import. They are defined in constants.ts, with every other
// limit; this module keeps the name those layers already import.
export {
  AUTH_PATHS,
  DEFAULT_DRAIN_SECONDS,
  DEFAULT_PORT,
  DRAIN_EXIT_GRACE_SECONDS,
  HARD_FRAME_LIMIT_BYTES,
  PATHS,
  PING_INTERVAL_MS,
} from './constants.js';
