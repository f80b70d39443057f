import { validateHeaderName, validateHeaderValue } from 'node:http';
import { RoamError } from '../errors.ts';

/**
 * A path segment, percent-decoded. A malformed escape (`%zz`, a lone `%`, bytes that are not UTF-8) is the
 * client's error: 400 E_BAD_PATH, never a 500 and an error line (issue 19: anyone could fill the log).
 */
export function decodeSegment(segment: string, what: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new RoamError('E_BAD_PATH', `malformed percent-escape in the ${what} '${segment.slice(0, 200)}'`);
  }
}

/**
 * A guest's response headers, checked as Node's writeHead would check them, so a bad one is the
 * function's error by name (E_BAD_HEADER), not an E_INTERNAL from inside Node.
 */
export function checkResponseHeaders(headers: Record<string, string>, fn: string): void {
  for (const n in headers) {
    const v = headers[n]!;
    try {
      validateHeaderName(n);
    } catch {
      throw new RoamError('E_BAD_HEADER', `function '${fn}' set an invalid response header name ${JSON.stringify(n.slice(0, 200))}`);
    }
    try {
      validateHeaderValue(n, v);
    } catch {
      throw new RoamError('E_BAD_HEADER', `function '${fn}' set an invalid value for response header '${n}'`);
    }
  }
}
