/** The part of @xmpp/component 0.13 (CommonJS, no types of its own) the gateway's link uses. */
declare module "@xmpp/component" {
  import type { Socket } from "node:net";
  interface XmlElement {
    name: string;
    attrs: Record<string, string | undefined>;
    children: Array<XmlElement | string>;
  }
  interface Component {
    status: string;
    socket: Socket | null;
    /** The socket class it instantiates per connection (a prototype property, overridable per instance). */
    Socket: new () => Socket;
    reconnect: { stop(): void; delay: number };
    start(): Promise<unknown>;
    connect(service: string): Promise<unknown>;
    open(options: { domain: string }): Promise<unknown>;
    stop(): Promise<unknown>;
    disconnect(timeout?: number): Promise<unknown>;
    write(data: string): Promise<void>;
    on(event: "online", listener: () => void): this;
    on(event: "offline" | "disconnect", listener: () => void): this;
    on(event: "error", listener: (err: Error) => void): this;
    on(event: "stanza", listener: (el: XmlElement) => void): this;
    on(event: "connect", listener: () => void): this;
    on(event: "status", listener: (status: string) => void): this;
    removeAllListeners(): this;
  }
  export function component(options: { service: string; domain: string; password: string }): Component;
}
