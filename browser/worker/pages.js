// A memory snapshot as it is kept: without its zero pages.
//
// Pyodide's snapshot is the interpreter's whole linear memory (31 MB for ours), and more than half of
// its 4 KiB pages are zeros: memory the allocator has reserved and never written. Kept as it is,
// every visitor's browser holds 31 MB for the site; kept sparse, 14 MB, and a warm start reads less.
// Layout (little-endian 32-bit words, then bytes):
//   MAGIC, the snapshot's length, its page count, the pages kept;
//   a bitmap of the pages kept (bit p of byte p >> 3), padded to whole words;
//   the kept pages in order, each PAGE bytes (the last one only as long as the snapshot).

export const PAGE = 4096;
export const MAGIC = 0x31475054; // "TPG1"
const HEADER = 16;

function isZero(bytes, words, page) {
  const start = page * PAGE;
  const end = Math.min(bytes.length, start + PAGE);
  const wordEnd = Math.min(words.length, end >>> 2);
  for (let w = start >>> 2; w < wordEnd; w++) if (words[w] !== 0) return false;
  for (let b = wordEnd * 4; b < end; b++) if (bytes[b] !== 0) return false;
  return true;
}

function bitmapBytes(pages) {
  return Math.ceil(pages / 32) * 4;
}

function isKept(bitmap, page) {
  return (bitmap[page >>> 3] & (1 << (page & 7))) !== 0;
}

/** The snapshot `bytes` without its zero pages. */
export function sparse(bytes) {
  if (bytes.byteOffset % 4) bytes = bytes.slice(); // word reads need an aligned start
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
  const pages = Math.ceil(bytes.length / PAGE);
  const bitmap = new Uint8Array(bitmapBytes(pages));
  let kept = 0;
  for (let p = 0; p < pages; p++) {
    if (!isZero(bytes, words, p)) {
      bitmap[p >>> 3] |= 1 << (p & 7);
      kept++;
    }
  }
  const out = new Uint8Array(HEADER + bitmap.length + kept * PAGE);
  const view = new DataView(out.buffer);
  [MAGIC, bytes.length, pages, kept].forEach((word, i) => view.setUint32(4 * i, word, true));
  out.set(bitmap, HEADER);
  let at = HEADER + bitmap.length;
  for (let p = 0; p < pages; p++) {
    if (isKept(bitmap, p)) {
      out.set(bytes.subarray(p * PAGE, Math.min(bytes.length, (p + 1) * PAGE)), at);
      at += PAGE;
    }
  }
  return out;
}

/** The snapshot that `sparse` kept, whole again. Throws on anything that is not one, whole. */
export function dense(kept) {
  if (kept.length < HEADER) throw new Error("snapshot: too short to be one");
  const view = new DataView(kept.buffer, kept.byteOffset, kept.byteLength);
  const [magic, length, pages, count] = [0, 4, 8, 12].map((at) => view.getUint32(at, true));
  if (magic !== MAGIC) throw new Error("snapshot: not a kept snapshot");
  const bitmap = kept.subarray(HEADER, HEADER + bitmapBytes(pages));
  if (pages !== Math.ceil(length / PAGE) || kept.length !== HEADER + bitmap.length + count * PAGE) {
    throw new Error("snapshot: truncated or damaged");
  }
  const out = new Uint8Array(length);
  let at = HEADER + bitmap.length;
  for (let p = 0; p < pages; p++) {
    if (isKept(bitmap, p)) {
      const start = p * PAGE;
      out.set(kept.subarray(at, at + Math.min(PAGE, length - start)), start);
      at += PAGE;
    }
  }
  if (at !== kept.length) throw new Error("snapshot: truncated or damaged"); // a bitmap that disagrees with the count
  return out;
}
