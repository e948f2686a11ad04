import { ImageRejectedError } from './image-rejected-error.js';

/** What the header of an image says about it. */
export interface ImageHeader {
  format: 'png' | 'jpeg';
  width: number;
  height: number;
}

const pngSignature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Reads the format and dimensions from the first bytes of a PNG or JPEG, in pure JS and without
 * decoding a pixel: that is what lets the pipeline refuse a decompression bomb (a small file that
 * claims 50,000 x 50,000 pixels) before any decoder allocates for it. `undefined` means "need more
 * bytes"; a rejection is thrown.
 */
export function readImageHeader(bytes: Uint8Array): ImageHeader | undefined {
  if (bytes.length < 8) return undefined;
  if (pngSignature.every((b, i) => bytes[i] === b)) return readPng(bytes);
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return readJpeg(bytes);
  throw new ImageRejectedError('IMAGE_UNSUPPORTED', 'the bytes are neither a PNG nor a JPEG');
}

/**
 * Checks a header against the declared content type and the pixel bound. The bound is on
 * width x height, not on bytes: compressed size says nothing about decoded size.
 */
export function checkImage(header: ImageHeader, contentType: string, maxPixels: number): void {
  const declared = contentType === 'image/png' ? 'png' : contentType === 'image/jpeg' ? 'jpeg' : undefined;
  if (declared === undefined) throw new ImageRejectedError('IMAGE_UNSUPPORTED', `${contentType} is not image/png or image/jpeg`);
  if (declared !== header.format)
    throw new ImageRejectedError('IMAGE_TYPE_MISMATCH', `declared ${contentType} but the bytes are a ${header.format.toUpperCase()}`);
  if (header.width === 0 || header.height === 0) throw new ImageRejectedError('IMAGE_CORRUPT', `the header gives ${header.width}x${header.height}`);
  const pixels = header.width * header.height;
  if (pixels > maxPixels) {
    throw new ImageRejectedError('IMAGE_TOO_LARGE', `${header.width}x${header.height} is ${pixels} pixels, over the bound of ${maxPixels}`);
  }
}

function readPng(bytes: Uint8Array): ImageHeader | undefined {
  // IHDR must be the first chunk: length 13, type 'IHDR', then width and height (big-endian u32).
  if (bytes.length < 24) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(8) !== 13 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') {
    throw new ImageRejectedError('IMAGE_CORRUPT', 'a PNG signature without an IHDR chunk');
  }
  return { format: 'png', width: view.getUint32(16), height: view.getUint32(20) };
}

/** Walks the JPEG segments to the first start-of-frame marker, which holds the dimensions. */
function readJpeg(bytes: Uint8Array): ImageHeader | undefined {
  let offset = 2;
  while (offset + 9 < bytes.length) {
    if (bytes[offset] !== 0xff) throw new ImageRejectedError('IMAGE_CORRUPT', `no JPEG marker at byte ${offset}`);
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
    if (marker === 0xd9 || marker === 0xda || length < 2) throw new ImageRejectedError('IMAGE_CORRUPT', 'a JPEG without a frame header');
    offset += 2 + length;
  }
  return undefined;
}
