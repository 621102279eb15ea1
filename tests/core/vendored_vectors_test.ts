/**
 * The golden vectors vendored in `tests/fixtures/vectors/` are byte-identical
 * to their upstream copy in `../shared/vectors/` whenever that directory
 * exists beside the repository (a plain clone has none: the comparison is
 * skipped there, and the vendored copies are what every test loads).
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "../_harness.ts";
import {
  loadVectors,
  sharedVectorsDir,
  VENDORED_FILES,
  VENDORED_RELEASES,
  vendoredVectorsDir,
} from "../_vectors.ts";

const shared = sharedVectorsDir();
const hasShared = existsSync(shared);

for (const release of VENDORED_RELEASES) {
  for (const file of VENDORED_FILES) {
    test(`tests/fixtures/vectors/${release}/${file} is vendored`, () => {
      const bytes = readFileSync(join(vendoredVectorsDir(), release, file));
      assert.ok(bytes.length > 0);
    });
    test(
      `tests/fixtures/vectors/${release}/${file} is byte-identical to ../shared/vectors` +
        (hasShared ? "" : " (skipped: no ../shared/vectors beside this clone)"),
      () => {
        const mine = readFileSync(join(vendoredVectorsDir(), release, file));
        const theirs = readFileSync(join(shared, release, file));
        assert.equal(mine.length, theirs.length, `${release}/${file}: size differs`);
        assert.ok(Buffer.compare(mine, theirs) === 0, `${release}/${file}: bytes differ`);
      },
      { ignore: !hasShared },
    );
  }
  test(`loadVectors("${release}") reads the vendored file`, () => {
    const v = loadVectors(release);
    assert.ok(v.vectors.length > 0);
    assert.equal(typeof v.meta.bincode_protocol_version, "number");
  });
}
