/**
 * The FrameV1 lane classifier on its own, so that hot paths (the compiler
 * wrapper, the daemon's first-read probe check) can tell a running-process
 * `Frame` from a zccache frame without loading any generated protobuf code.
 *
 * ```text
 * buf[0] != 0x01                         -> false (zccache [len][version] frame)
 * buf[0] == 0x01, fewer than 8 bytes     -> null  (cannot tell yet)
 * len = u32le buf[0..4], ver = u32le buf[4..8]:
 *   len >= 4 and ver in {15, 16}         -> false (zccache frame whose len is 1 mod 256)
 *   otherwise                            -> true  (running-process Frame)
 * ```
 *
 * Reproduces zccache@3eae627:crates/zccache/src/protocol/wire_frame.rs
 * `buffer_starts_running_process_frame` (1.12.2: known versions {15, 16}).
 * The implementation is `classifyFrameStart` of `frame.ts`; this module gives
 * it the FrameV1 name of the agreed API.
 *
 * @module
 */

export { classifyFrameStart as startsRunningProcessFrame } from "./frame.ts";
