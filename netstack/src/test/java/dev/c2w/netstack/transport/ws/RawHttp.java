package dev.c2w.netstack.transport.ws;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** Hand-written HTTP/1.1 requests over a plain socket, for handshake tests where headers must be exact. */
final class RawHttp {
    record Response(int status, Map<String, String> headers, String body, Socket socket) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    static final String KEY = "dGhlIHNhbXBsZSBub25jZQ==";

    private RawHttp() {}

    /** A WebSocket opening handshake; {@code origin} null leaves the header out, {@code protocol} likewise. */
    static String handshake(String path, String origin, String protocol) {
        StringBuilder sb = new StringBuilder();
        sb.append("GET ")
                .append(path)
                .append(" HTTP/1.1\r\n")
                .append("Host: 127.0.0.1\r\n")
                .append("Upgrade: websocket\r\n")
                .append("Connection: Upgrade\r\n")
                .append("Sec-WebSocket-Key: ")
                .append(KEY)
                .append("\r\n")
                .append("Sec-WebSocket-Version: 13\r\n");
        if (protocol != null) {
            sb.append("Sec-WebSocket-Protocol: ").append(protocol).append("\r\n");
        }
        if (origin != null) {
            sb.append("Origin: ").append(origin).append("\r\n");
        }
        return sb.append("\r\n").toString();
    }

    /**
     * Sends {@code request} on a new connection and reads the response head (and the body when it has a
     * Content-Length). The socket stays open in the result; close it.
     */
    static Response exchange(InetSocketAddress server, String request) throws IOException {
        Socket s = new Socket();
        s.connect(server, 10_000);
        s.setSoTimeout(30_000);
        s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
        s.getOutputStream().flush();
        InputStream in = s.getInputStream();
        String head = readHead(in);
        String[] lines = head.split("\r\n");
        String[] statusLine = lines[0].split(" ", 3);
        int status = Integer.parseInt(statusLine[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int c = lines[i].indexOf(':');
            if (c > 0) {
                headers.put(
                        lines[i].substring(0, c).trim().toLowerCase(Locale.ROOT),
                        lines[i].substring(c + 1).trim());
            }
        }
        String body = "";
        String cl = headers.get("content-length");
        if (cl != null && !request.startsWith("HEAD ")) {
            byte[] b = in.readNBytes(Integer.parseInt(cl));
            body = new String(b, StandardCharsets.UTF_8);
        }
        return new Response(status, headers, body, s);
    }

    /** GET {@code path} with Connection: close; returns status and body. */
    static Response get(InetSocketAddress server, String path, String origin) throws IOException {
        String req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                + (origin == null ? "" : "Origin: " + origin + "\r\n") + "\r\n";
        Response r = exchange(server, req);
        r.socket().close();
        return r;
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int state = 0;
        while (state < 4) {
            int c = in.read();
            if (c < 0) {
                throw new IOException("connection closed before the end of the response head: " + out);
            }
            out.write(c);
            state = switch (state) {
                case 0, 2 -> c == '\r' ? state + 1 : 0;
                case 1, 3 -> c == '\n' ? state + 1 : (c == '\r' ? 1 : 0);
                default -> 0;
            };
        }
        return out.toString(StandardCharsets.ISO_8859_1);
    }
}
