/** What the header of an image says about it. */
export interface ImageSize {
  format: 'png' | 'jpeg';
  width: number;
  height: number;
}

const pngSignature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Reads the dimensions from the first bytes of a PNG or JPEG, in pure JS: the quickstart must
 * run without native modules. `undefined` means "need more bytes or not an image"; `probeDone`
 * tells the two apart.
 */
export function probeImageSize(bytes: Uint8Array): ImageSize | undefined {
  if (isPng(bytes)) {
    // IHDR is always the first chunk: width and height are its first two big-endian u32s.
    if (bytes.length < 24) return undefined;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return { format: 'png', width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (isJpeg(bytes)) return probeJpeg(bytes);
  return undefined;
}

/** True once `bytes` are known not to be a PNG or JPEG, so reading further is pointless. */
export function probeDone(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && !isPng(bytes) && !isJpeg(bytes);
}

function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && pngSignature.every((b, i) => bytes[i] === b);
}

function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** Walks the JPEG segments to the first start-of-frame marker, which holds the dimensions. */
function probeJpeg(bytes: Uint8Array): ImageSize | undefined {
  let offset = 2;
  while (offset + 9 < bytes.length) {
    if (bytes[offset] !== 0xff) return undefined;
    const marker = bytes[offset + 1]!;
    if (marker === 0xff) {
      offset++; // fill byte
      continue;
    }
    const length = (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
    // SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const height = (bytes[offset + 5]! << 8) | bytes[offset + 6]!;
      const width = (bytes[offset + 7]! << 8) | bytes[offset + 8]!;
      return { format: 'jpeg', width, height };
    }
    if (length < 2) return undefined;
    offset += 2 + length;
  }
  return undefined;
}
