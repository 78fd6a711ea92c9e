import { extractDetail } from '@sciport/core';

const strictUtf8 = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });

/**
 * Decodes a text body. The spec says UTF-8 (§2, [I]): valid UTF-8 is read as such whatever the label; bytes
 * that are not UTF-8 are read in the charset the `Content-Type` names, else as Windows-1252 (what a Java
 * servlet without a charset writes), rather than turning every accented letter into U+FFFD.
 */
export function decodeText(bytes: Uint8Array, contentType: string | null = null): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    const label = /charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1];
    if (label && !/^utf-?8$/i.test(label)) {
      try {
        return new TextDecoder(label).decode(bytes);
      } catch {
        // not a charset TextDecoder knows
      }
    }
    return new TextDecoder('windows-1252').decode(bytes);
  }
}

/** The first ~200 characters of an error body, as text (an HTML page is reduced to its message). */
export function bodyQuote(text: string, contentType: string | null): string {
  return (extractDetail(text, contentType) ?? '').replace(/\s+/g, ' ').trim().slice(0, 200);
}
