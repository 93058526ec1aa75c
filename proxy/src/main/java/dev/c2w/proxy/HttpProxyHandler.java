package dev.c2w.proxy;

import dev.c2w.netstack.loop.Loops;
import dev.c2w.netstack.relay.Relay;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLException;

/**
 * The HTTP side of the proxy, one instance per guest connection, after HttpServerCodec.
 *
 * <p>Two modes. Proxy mode (ports 80 and 443): requests carry absolute URIs (http://host/path, https://...)
 * and CONNECT opens tunnels (handed to ConnectTunnelHandler). Tunnel mode (inside a CONNECT whose TLS the
 * proxy terminated): requests are origin-form and all go to the tunnel's host and port over TLS, with the
 * guest's SNI name for SNI and certificate checks. Parsing the request target is RequestTarget's job, the
 * header rules are HopByHop's and the wording of errors is ErrorResponses'; this class holds the
 * connection logic.
 *
 * <p>One request is in flight at a time (an {@link Exchange}, whose progress is a {@link Phase}). Its
 * headers go upstream as soon as a connection is ready; body parts follow as they arrive and response parts
 * go back the same way, so bodies are streamed, never gathered. Pipelined requests that the decoder produces
 * meanwhile are queued and replayed in order.
 *
 * <p>Reading is flow-controlled through autoRead: the guest is read only while there is nowhere else for its
 * bytes to wait (no exchange, or a request body streaming to a writable upstream); the upstream is read
 * only while the guest is writable. So at most one read's worth of data waits in memory per direction.
 *
 * <p>Buffer ownership: every HttpContent read from one side is passed to the other side's write (which owns
 * it from then on) or released here; queued and pending messages are released if the connection dies.
 *
 * <p>Threading: everything here runs on the guest channel's event loop. Upstream events arrive on the
 * upstream channel's loop (usually the same one; see UpstreamPool) and are re-posted here when it differs.
 *
 * <p>Errors become HTTP: malformed request 400, policy refusal 403, upstream unreachable, TLS failure or no
 * response 502 (with the reason in the body). After an error whose request body was not read the
 * connection is closed. Anything thrown by the guest pipeline (a broken ClientHello...) closes this
 * connection only.
 */
final class HttpProxyHandler extends ChannelInboundHandlerAdapter {
    private static final System.Logger LOG = System.getLogger("dev.c2w.proxy");

    private final ProxyServer px;
    /** The intercepted tunnel this handler serves, or null in proxy mode. */
    private final Tunnel tunnel;
    /** Guest messages that arrived while the exchange's request was complete: replayed in order. */
    private final ArrayDeque<Object> queued = new ArrayDeque<>();

    private ChannelHandlerContext ctx;
    /** The exchange in flight, or null while waiting for the next request. */
    private Exchange cur;
    /**
     * Set once, never cleared: the connection is closing or has been handed to another handler (a CONNECT
     * tunnel, a WebSocket relay), so nothing more is read or handled here. Independent of the exchange: it
     * can be set with or without one in flight.
     */
    private boolean closing;
    /** A latch so that a guest TLS failure reported both as an event and as an exception is counted once. */
    private boolean tlsFailureCounted;

    HttpProxyHandler(ProxyServer px, Tunnel tunnel) {
        this.px = px;
        this.tunnel = tunnel;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    // ---------------------------------------------------------------- guest events

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (closing) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (!queued.isEmpty() || (cur != null && cur.requestComplete)) {
            queued.add(msg);
            updateRead();
            return;
        }
        handle(msg);
    }

    private void handle(Object msg) {
        if (cur != null) {
            if (msg instanceof HttpContent c) {
                cur.guestContent(c);
            } else {
                ReferenceCountUtil.release(msg);
            }
            return;
        }
        if (!(msg instanceof HttpRequest req)) {
            // the rest of a request we already answered (its body, or the empty end of a GET)
            ReferenceCountUtil.release(msg);
            return;
        }
        try {
            startRequest(req);
        } finally {
            if (msg instanceof HttpContent && cur == null) {
                ReferenceCountUtil.release(msg);
            }
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        updateRead();
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closing = true;
        if (cur != null) {
            cur.abort();
        }
        releaseQueued();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseQueued();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            if (cur == null && queued.isEmpty()) {
                closing = true;
                ctx.close(); // a keep-alive connection nobody uses any more
            }
            return;
        }
        // SslHandler reports a failed handshake before it closes the channel: count it here, in order
        if (evt instanceof SslHandshakeCompletionEvent e && !e.isSuccess()) {
            countTlsFailure();
        }
        ctx.fireUserEventTriggered(evt);
    }

    private void countTlsFailure() {
        if (!tlsFailureCounted) {
            tlsFailureCounted = true;
            px.stats().brokenHandshakes.incrementAndGet();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (isTlsFailure(cause)) {
            countTlsFailure();
            LOG.log(System.Logger.Level.DEBUG, "guest TLS failure on " + ctx.channel() + ": " + cause);
        } else if (!(cause instanceof IOException)) {
            LOG.log(System.Logger.Level.DEBUG, "closing " + ctx.channel() + " after " + cause, cause);
        }
        closing = true;
        if (cur != null) {
            cur.abort();
        }
        ctx.close();
    }

    static boolean isTlsFailure(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof SSLException || c instanceof NotSslRecordException) {
                return true;
            }
            if (c.getCause() == c) {
                break;
            }
        }
        return t instanceof DecoderException;
    }

    private void releaseQueued() {
        Object o;
        while ((o = queued.poll()) != null) {
            ReferenceCountUtil.release(o);
        }
    }

    /** Reads the guest only when its bytes have somewhere to go; reads the upstream only when the guest can take more. */
    private void updateRead() {
        if (ctx == null || ctx.isRemoved()) {
            return;
        }
        boolean read;
        if (closing) {
            read = false;
        } else if (cur == null) {
            read = queued.isEmpty();
        } else if (cur.phase.over) {
            read = true; // skipping the rest of a request body whose response is complete
        } else {
            read = !cur.requestComplete && cur.up != null && cur.up.isWritable();
        }
        ctx.channel().config().setAutoRead(read);
        if (cur != null && cur.up != null && !cur.phase.over) {
            cur.up.config().setAutoRead(ctx.channel().isWritable());
        }
    }

    private void finished(Exchange e, boolean closeGuest) {
        if (cur == e) {
            cur = null;
        }
        if (closeGuest || closing) {
            closing = true;
            releaseQueued();
            Relay.closeOnFlush(ctx.channel());
            return;
        }
        while (!queued.isEmpty() && !closing && (cur == null || !cur.requestComplete)) {
            handle(queued.poll());
        }
        updateRead();
    }

    // ---------------------------------------------------------------- requests

    private void startRequest(HttpRequest req) {
        if (req.decoderResult().isFailure()) {
            px.stats().badRequests.incrementAndGet();
            sendError(
                    HttpResponseStatus.BAD_REQUEST,
                    ErrorResponses.malformedRequest(req.decoderResult().cause()),
                    true);
            return;
        }
        boolean mayHaveBody = HttpUtil.isTransferEncodingChunked(req) || HttpUtil.getContentLength(req, 0L) > 0;
        boolean keepAliveAfterError = HttpUtil.isKeepAlive(req) && !mayHaveBody;
        try {
            if (HttpMethod.CONNECT.equals(req.method())) {
                startConnect(req);
                return;
            }
            RequestTarget t = target(req);
            if (t == null) {
                return; // answered locally
            }
            checkPolicy(t.host());
            px.stats().requests.incrementAndGet();
            cur = new Exchange(req, t);
            cur.start();
        } catch (Refusal r) {
            if (r.status.code() == 400) {
                px.stats().badRequests.incrementAndGet();
            }
            sendError(r.status, r.getMessage(), !keepAliveAfterError);
        }
    }

    private void checkPolicy(String host) throws Refusal {
        if (!px.config().policy().allows(host)) {
            px.stats().refused.incrementAndGet();
            throw ErrorResponses.forbidden(host);
        }
    }

    private void startConnect(HttpRequest req) throws Refusal {
        if (tunnel != null) {
            throw ErrorResponses.connectInTunnel();
        }
        RequestTarget.HostPort to = RequestTarget.parseAuthorityForm(req.uri());
        checkPolicy(to.host());
        px.stats().connects.incrementAndGet();
        // From here on the connection carries tunnel bytes: drop the HTTP codec (its unread bytes flow on
        // into the tunnel handler) and let ConnectTunnelHandler answer the CONNECT itself.
        ctx.channel().config().setAutoRead(false);
        closing = true; // nothing more for this handler
        releaseQueued();
        ctx.pipeline().replace(this, "tunnel", new ConnectTunnelHandler(px, to.host(), to.port()));
        HttpServerCodec codec = ctx.pipeline().get(HttpServerCodec.class);
        if (codec != null) {
            ctx.pipeline().remove(codec);
        }
    }

    /** The target of a request, or null when it was answered locally (GET /proxy.crt). */
    private RequestTarget target(HttpRequest req) throws Refusal {
        String uri = req.uri();
        if (tunnel != null) {
            return RequestTarget.parseInTunnel(uri, tunnel.host, tunnel.port);
        }
        if (uri.startsWith("/")) {
            String path = uri.split("\\?", 2)[0];
            if (path.equals("/proxy.crt")
                    && (HttpMethod.GET.equals(req.method()) || HttpMethod.HEAD.equals(req.method()))) {
                serveCa(req);
                return null;
            }
            throw ErrorResponses.notAProxyRequest();
        }
        return RequestTarget.parseAbsoluteForm(uri);
    }

    private void serveCa(HttpRequest req) {
        byte[] pem = px.caCertificatePem().getBytes(StandardCharsets.US_ASCII);
        FullHttpResponse r = new DefaultFullHttpResponse(
                HttpVersion.HTTP_1_1,
                HttpResponseStatus.OK,
                HttpMethod.HEAD.equals(req.method()) ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(pem));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/x-pem-file");
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, pem.length);
        boolean keep = HttpUtil.isKeepAlive(req);
        HttpUtil.setKeepAlive(r, keep);
        ctx.writeAndFlush(r);
        if (!keep) {
            closing = true;
            Relay.closeOnFlush(ctx.channel());
        }
    }

    /** Answers with an error outside an exchange; with close, stops reading and closes once it is written. */
    private void sendError(HttpResponseStatus status, String message, boolean close) {
        writeError(status, message, close);
        if (close) {
            closing = true;
            releaseQueued();
            ctx.channel().config().setAutoRead(false);
        }
    }

    private void writeError(HttpResponseStatus status, String message, boolean close) {
        ChannelFuture f = ctx.channel().writeAndFlush(ErrorResponses.response(status, message, close));
        if (close) {
            f.addListener(ChannelFutureListener.CLOSE);
        }
    }

    // ---------------------------------------------------------------- nested types

    /** The destination of an intercepted tunnel; sni is set when the guest's ClientHello has been read. */
    static final class Tunnel {
        final String host;
        final int port;
        volatile String sni;

        Tunnel(String host, int port) {
            this.host = host;
            this.port = port;
            this.sni = host;
        }
    }

    /**
     * How far an exchange has got, seen from the response side, which is what decides where events go.
     * The transitions:
     * <ul>
     *   <li>CONNECTING_UPSTREAM to AWAITING_RESPONSE when the connection is there (the head and any pending
     *       body parts are written);</li>
     *   <li>AWAITING_RESPONSE to RELAYING_INFORMATIONAL on a 1xx head, and back at its end;</li>
     *   <li>AWAITING_RESPONSE (or RELAYING_INFORMATIONAL) back to CONNECTING_UPSTREAM when a pooled connection
     *       dies before answering a body-less request: once per exchange;</li>
     *   <li>AWAITING_RESPONSE to UPGRADED on a 101 to a WebSocket request;</li>
     *   <li>AWAITING_RESPONSE to STREAMING_RESPONSE on the final head;</li>
     *   <li>STREAMING_RESPONSE at its last part to DONE, or to SKIPPING_REQUEST_BODY when the request body has
     *       not all been read yet (then to DONE once it has);</li>
     *   <li>any phase that is not over to DONE on a failure (a 502, or a close when the response had
     *       started) or an abort (the guest went away).</li>
     * </ul>
     * The request side is not part of it: a request body may still be streaming upstream in every phase up
     * to STREAMING_RESPONSE (an origin may answer early), so "request complete" is a separate flag.
     */
    private enum Phase {
        /** Waiting for a pooled or new upstream connection (again after a retry); request parts wait in pending. */
        CONNECTING_UPSTREAM(false),
        /** The request head has gone upstream; no final response yet. */
        AWAITING_RESPONSE(false),
        /** A 1xx response is being relayed; its end returns to AWAITING_RESPONSE. */
        RELAYING_INFORMATIONAL(false),
        /** The final response head has gone to the guest and its body follows. */
        STREAMING_RESPONSE(false),
        /** The response is complete before the request body: the rest is read only to drop it, then the guest is closed. */
        SKIPPING_REQUEST_BODY(true),
        /** A 101 went to the guest and both connections became byte relays; stragglers are passed on as bytes. */
        UPGRADED(true),
        /** Finished, failed or aborted: anything that still arrives is dropped. */
        DONE(true);

        /** The response side is over: nothing more is sent upstream and no error can be sent to the guest. */
        final boolean over;

        Phase(boolean over) {
            this.over = over;
        }
    }

    /** One request in flight: its upstream connection, its phase, and the upstream callbacks. */
    private final class Exchange implements UpstreamPool.Listener {
        final HttpRequest req;
        final UpstreamPool.Key key;
        final HttpRequest upReq;
        final boolean upgradeRequest;
        final boolean requestHasBody;
        /** Guest body parts that arrived before the upstream connection: written when it is there. */
        final List<HttpContent> pending = new ArrayList<>();

        final EventLoop loop;
        Phase phase = Phase.CONNECTING_UPSTREAM;
        /** The upstream connection; null while connecting (and again while retrying). */
        Channel up;
        /** The guest's LastHttpContent has been read. Runs alongside the phase (see Phase), so it is its own flag. */
        boolean requestComplete;
        /** A retry on a fresh connection has been made: at most one per exchange. */
        boolean retried;
        /** The current upstream connection came from the pool (had served a request before). */
        boolean reused;
        /** The origin's final response allows keeping its connection: then it goes back to the pool. */
        boolean upstreamKeepAlive;
        /** The guest connection is to be closed after this exchange (framing, HTTP/1.0, Connection: close). */
        boolean closeGuestAfter;

        Exchange(HttpRequest req, RequestTarget target) {
            this.req = req;
            this.loop = ctx.channel().eventLoop();
            String sni = target.tls() ? (tunnel != null ? tunnel.sni : target.host()) : null;
            this.key = new UpstreamPool.Key(target.tls(), target.host(), target.port(), sni);
            this.upgradeRequest = HopByHop.isWebSocketUpgrade(req.headers());
            this.requestHasBody = HttpUtil.isTransferEncodingChunked(req) || HttpUtil.getContentLength(req, 0L) > 0;
            HttpHeaders h = new DefaultHttpHeaders();
            h.set(req.headers());
            if (upgradeRequest) {
                HopByHop.stripKeepingUpgrade(h);
            } else {
                HopByHop.strip(h);
            }
            if (tunnel == null || !h.contains(HttpHeaderNames.HOST)) {
                h.set(HttpHeaderNames.HOST, target.authority());
            }
            this.upReq = new DefaultHttpRequest(HttpVersion.HTTP_1_1, req.method(), target.pathAndQuery(), h);
            if (req instanceof LastHttpContent) {
                requestComplete = true;
            }
        }

        void start() {
            acquire(true);
            updateRead();
        }

        private void acquire(boolean pooled) {
            Future<Channel> f = px.pool().acquire(key, loop, this, pooled);
            f.addListener(x -> connected(f));
        }

        private void connected(Future<Channel> f) {
            if (phase.over) {
                if (f.isSuccess()) {
                    f.getNow().close();
                }
                return;
            }
            if (!f.isSuccess()) {
                fail(HttpResponseStatus.BAD_GATEWAY, ErrorResponses.cannotReach(key, f.cause()));
                return;
            }
            up = f.getNow();
            phase = Phase.AWAITING_RESPONSE;
            UpstreamPool.UpstreamHandler h = UpstreamPool.handler(up);
            reused = h != null && h.uses() > 1;
            up.write(upReq);
            if (retried) {
                up.write(LastHttpContent.EMPTY_LAST_CONTENT); // the first attempt consumed the original end marker
            }
            for (HttpContent c : pending) {
                up.write(c);
            }
            pending.clear();
            up.flush();
            updateRead();
        }

        void guestContent(HttpContent c) {
            boolean last = c instanceof LastHttpContent;
            if (phase.over) {
                c.release();
            } else if (up == null) {
                pending.add(c);
            } else {
                up.writeAndFlush(c);
            }
            if (last) {
                requestComplete = true;
            }
            if (phase.over && last) {
                // the response ended before the request body: we kept reading only to skip it
                phase = Phase.DONE;
                finished(this, closeGuestAfter);
                return;
            }
            updateRead();
        }

        /** Sends an error to the guest (or closes it if a response already started) and ends the exchange. */
        void fail(HttpResponseStatus status, String message) {
            if (phase.over) {
                return;
            }
            boolean responseStarted = phase == Phase.STREAMING_RESPONSE;
            phase = Phase.DONE;
            if (status.code() == 502) {
                px.stats().badGateway.incrementAndGet();
            }
            releasePending();
            if (up != null) {
                up.close();
            }
            boolean close = !requestComplete || !HttpUtil.isKeepAlive(req) || responseStarted;
            if (responseStarted) {
                ctx.close();
            } else {
                writeError(status, message, close);
            }
            finished(this, close);
        }

        /** The guest connection is gone: drop everything and close the upstream (an upgraded one is the relay's). */
        void abort() {
            if (phase.over) {
                return; // including UPGRADED, whose upstream the relay now owns
            }
            phase = Phase.DONE;
            releasePending();
            if (up != null) {
                up.close();
            }
        }

        private void releasePending() {
            for (HttpContent c : pending) {
                c.release();
            }
            pending.clear();
        }

        // ----- upstream callbacks (upstream loop) -> guest loop

        private void onGuestLoop(Runnable r) {
            Loops.run(loop, r);
        }

        @Override
        public void upstreamRead(Object msg) {
            onGuestLoop(() -> response(msg));
        }

        @Override
        public void upstreamInactive() {
            onGuestLoop(this::upstreamClosed);
        }

        @Override
        public void upstreamWritabilityChanged(boolean writable) {
            onGuestLoop(() -> {
                if (cur == this) {
                    updateRead();
                }
            });
        }

        @Override
        public void upstreamException(Throwable cause) {
            LOG.log(System.Logger.Level.DEBUG, "upstream " + key + ": " + cause);
        }

        private void upstreamClosed() {
            if (up == null) {
                return; // a connect or handshake failure: connected() reports it
            }
            switch (phase) {
                case UPGRADED -> Relay.closeOnFlush(ctx.channel());
                case SKIPPING_REQUEST_BODY, DONE -> {
                    // the exchange is over; the connection's end is no news
                }
                case STREAMING_RESPONSE -> {
                    // a close mid-body: the guest can only learn it from a close too
                    phase = Phase.DONE;
                    ctx.close();
                    finished(this, true);
                }
                default -> {
                    // no final response yet (connected, or relaying a 1xx)
                    if (reused && !requestHasBody && !retried && requestComplete) {
                        // a pooled connection the origin had closed: try once more on a fresh one
                        retried = true;
                        up = null;
                        phase = Phase.CONNECTING_UPSTREAM;
                        acquire(false);
                    } else {
                        fail(HttpResponseStatus.BAD_GATEWAY, ErrorResponses.closedWithoutResponse(key));
                    }
                }
            }
        }

        private void response(Object msg) {
            if (phase == Phase.UPGRADED) {
                Channel g = ctx.channel();
                ByteBuf data = msg instanceof ByteBuf b
                        ? b
                        : msg instanceof HttpContent hc ? hc.content().retain() : null;
                if (!(msg instanceof ByteBuf)) {
                    ReferenceCountUtil.release(msg);
                }
                if (data != null && data.isReadable() && g.isActive()) {
                    g.writeAndFlush(data);
                } else if (data != null) {
                    data.release();
                }
                return;
            }
            if (phase.over || up == null) {
                ReferenceCountUtil.release(msg);
                return;
            }
            if (msg instanceof HttpResponse r) {
                if (r.decoderResult().isFailure()) {
                    ReferenceCountUtil.release(msg);
                    fail(
                            HttpResponseStatus.BAD_GATEWAY,
                            ErrorResponses.invalidResponse(
                                    key, r.decoderResult().cause()));
                    return;
                }
                int code = r.status().code();
                if (code == 101 && upgradeRequest) {
                    switchProtocols(r);
                    ReferenceCountUtil.release(msg);
                    return;
                }
                if (code >= 100 && code < 200) {
                    phase = Phase.RELAYING_INFORMATIONAL;
                    HopByHop.strip(r.headers());
                    r.setProtocolVersion(HttpVersion.HTTP_1_1);
                    ctx.write(r);
                } else {
                    phase = Phase.STREAMING_RESPONSE;
                    prepareResponse(r);
                    ctx.write(r);
                }
            }
            if (msg instanceof HttpContent c) {
                boolean last = c instanceof LastHttpContent;
                if (phase == Phase.RELAYING_INFORMATIONAL) {
                    c.release();
                    if (last) {
                        phase = Phase.AWAITING_RESPONSE;
                        ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
                    }
                    return;
                }
                if (phase != Phase.STREAMING_RESPONSE) {
                    c.release();
                    return;
                }
                if (last) {
                    ctx.writeAndFlush(c);
                    responseDone();
                    return;
                }
                ctx.writeAndFlush(c);
            } else {
                ctx.flush();
            }
            updateRead();
        }

        private void prepareResponse(HttpResponse r) {
            upstreamKeepAlive = HttpUtil.isKeepAlive(r);
            int code = r.status().code();
            HttpHeaders h = r.headers();
            HopByHop.strip(h);
            boolean guest10 = req.protocolVersion().equals(HttpVersion.HTTP_1_0);
            boolean empty = HttpMethod.HEAD.equals(req.method()) || code == 204 || code == 304;
            boolean chunked = HttpUtil.isTransferEncodingChunked(r);
            boolean sized = HttpUtil.isContentLengthSet(r);
            if (!empty && !chunked && !sized) {
                // the origin delimits the body by closing: re-frame it for an HTTP/1.1 guest
                if (guest10) {
                    closeGuestAfter = true;
                } else {
                    HttpUtil.setTransferEncodingChunked(r, true);
                }
            } else if (chunked && guest10) {
                h.remove(HttpHeaderNames.TRANSFER_ENCODING);
                closeGuestAfter = true;
            }
            if (!HttpUtil.isKeepAlive(req)) {
                closeGuestAfter = true;
            }
            r.setProtocolVersion(HttpVersion.HTTP_1_1);
            if (closeGuestAfter) {
                h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            } else if (guest10) {
                h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            }
        }

        private void responseDone() {
            boolean skipRest = !requestComplete;
            // the phase changes before the upstream is let go, so that its end finds the exchange over
            phase = skipRest ? Phase.SKIPPING_REQUEST_BODY : Phase.DONE;
            Channel u = up;
            if (requestComplete && upstreamKeepAlive && u.isActive()) {
                px.pool().release(key, u);
            } else {
                u.close();
            }
            if (skipRest) {
                // keep reading only to skip the rest of the body, then close
                closeGuestAfter = true;
                updateRead();
                return;
            }
            finished(this, closeGuestAfter);
        }

        private void switchProtocols(HttpResponse r) {
            phase = Phase.UPGRADED;
            px.stats().upgrades.incrementAndGet();
            HttpHeaders h = r.headers();
            HopByHop.stripKeepingUpgrade(h);
            r.setProtocolVersion(HttpVersion.HTTP_1_1);
            Channel g = ctx.channel();
            Channel u = up;
            ctx.write(new DefaultHttpResponse(HttpVersion.HTTP_1_1, r.status(), h));
            ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
            // Guest side: relay replaces this handler, then the codec goes (its unread bytes flow into the relay).
            cur = null;
            closing = true;
            releaseQueued();
            ctx.pipeline().replace(HttpProxyHandler.this, "relay", Relay.forTunnel(u));
            HttpServerCodec codec = g.pipeline().get(HttpServerCodec.class);
            if (codec != null) {
                g.pipeline().remove(codec);
            }
            Runnable upstreamSide = () -> {
                if (!u.isActive()) {
                    Relay.closeOnFlush(g);
                    return;
                }
                UpstreamPool.UpstreamHandler uh = u.pipeline().get(UpstreamPool.UpstreamHandler.class);
                if (uh != null) {
                    u.pipeline().replace(uh, "relay", Relay.forTunnel(g));
                }
                if (u.pipeline().get(IdleStateHandler.class) != null) {
                    u.pipeline().remove(IdleStateHandler.class);
                }
                if (u.pipeline().get(HttpClientCodec.class) != null) {
                    u.pipeline().remove(HttpClientCodec.class);
                }
            };
            Loops.run(u.eventLoop(), upstreamSide);
        }
    }
}
