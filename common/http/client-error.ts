import type { Duplex } from "node:stream";
import { rawResponse } from "./respond.ts";

/** Why node's HTTP parser refused a request, as a status and a sentence for the client. */
export function describeClientError(code: string | undefined): { status: number; reason: string } {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return { status: 431, reason: "request headers too large" };
    case "ERR_HTTP_REQUEST_TIMEOUT":
    case "ERR_HTTP_HEADERS_TIMEOUT":
      return { status: 408, reason: "request not received in time" };
    case "HPE_INVALID_CHUNK_SIZE":
    case "HPE_INVALID_TRANSFER_ENCODING":
    case "HPE_UNEXPECTED_CONTENT_LENGTH":
      return { status: 400, reason: "malformed request body framing" };
    case "HPE_INVALID_METHOD":
    case "HPE_INVALID_URL":
    case "HPE_INVALID_VERSION":
    case "HPE_INVALID_CONSTANT":
      return { status: 400, reason: "malformed request line" };
    default:
      return { status: 400, reason: "malformed request" };
  }
}

/**
 * node's 'clientError' handler: answer what can still be answered with a status and a reason,
 * otherwise just close. Anything the request held is released by its own close handlers.
 */
export function handleClientError(component: string) {
  return (error: NodeJS.ErrnoException, socket: Duplex): void => {
    const inProgress = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === "ECONNRESET" || !socket.writable || inProgress?.headersSent) {
      socket.destroy();
      return;
    }
    const { status, reason } = describeClientError(error.code);
    socket.end(rawResponse(status, `${component}: ${reason}`));
  };
}
