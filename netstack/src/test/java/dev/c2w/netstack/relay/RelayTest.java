package dev.c2w.netstack.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.util.AbstractReferenceCounted;
import io.netty.util.ReferenceCounted;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The relay's choices per use, on embedded channels (one loop); the NAT's resets are in TcpTest. */
class RelayTest {

    private static ByteBuf bytes(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
    }

    private static String text(Object msg) {
        ByteBuf b = (ByteBuf) msg;
        try {
            return b.toString(StandardCharsets.US_ASCII);
        } finally {
            b.release();
        }
    }

    /** A NAT pair as a port forward makes it: the first relay learns its peer from the second. */
    private static EmbeddedChannel[] natPair() {
        Relay first = Relay.forNat(null);
        EmbeddedChannel host = new EmbeddedChannel(first);
        host.config().setAutoRead(false);
        EmbeddedChannel guest = new EmbeddedChannel(Relay.pairedWith(host, first));
        return new EmbeddedChannel[] {host, guest};
    }

    @Test
    void aTunnelFlushesEveryMessageAtOnce() {
        EmbeddedChannel peer = new EmbeddedChannel();
        EmbeddedChannel side = new EmbeddedChannel(Relay.forTunnel(peer));
        side.pipeline().fireChannelRead(bytes("one"));
        assertThat(text(peer.readOutbound())).isEqualTo("one");
        side.pipeline().fireChannelRead(bytes("two"));
        assertThat(text(peer.readOutbound())).isEqualTo("two");
    }

    @Test
    void theNatFlushesOncePerReadBatch() {
        EmbeddedChannel[] pair = natPair();
        EmbeddedChannel host = pair[0];
        EmbeddedChannel guest = pair[1];
        assertThat(host.config().isAutoRead())
                .as("the guest side started the host's reading")
                .isTrue();
        guest.pipeline().fireChannelRead(bytes("one"));
        guest.pipeline().fireChannelRead(bytes("two"));
        assertThat(host.<Object>readOutbound())
                .as("nothing flushed inside the batch")
                .isNull();
        guest.pipeline().fireChannelReadComplete();
        assertThat(text(host.readOutbound())).isEqualTo("one");
        assertThat(text(host.readOutbound())).isEqualTo("two");
    }

    @Test
    void aHolderGivesUpItsContentAndEverythingElseIsReleased() {
        EmbeddedChannel peer = new EmbeddedChannel();
        EmbeddedChannel side = new EmbeddedChannel(Relay.forTunnel(peer));
        ByteBuf content = bytes("body");
        side.pipeline().fireChannelRead(new DefaultHttpContent(content));
        ByteBuf out = peer.readOutbound();
        assertThat(out).isSameAs(content);
        assertThat(out.refCnt()).as("only the peer's reference is left").isEqualTo(1);
        out.release();

        ReferenceCounted other = new AbstractReferenceCounted() {
            @Override
            protected void deallocate() {}

            @Override
            public ReferenceCounted touch(Object hint) {
                return this;
            }
        };
        side.pipeline().fireChannelRead(other);
        assertThat(other.refCnt()).isZero();
        ByteBuf empty = Unpooled.buffer(4);
        side.pipeline().fireChannelRead(empty);
        assertThat(empty.refCnt()).isZero();
        assertThat(peer.<Object>readOutbound()).isNull();

        peer.close();
        ByteBuf late = bytes("late");
        side.pipeline().fireChannelRead(late);
        assertThat(late.refCnt()).as("read after the peer closed").isZero();
    }

    @Test
    void anUnwritablePeerStopsReadingUntilItDrains() {
        EmbeddedChannel[] pair = natPair();
        EmbeddedChannel host = pair[0];
        EmbeddedChannel guest = pair[1];
        host.config().setWriteBufferWaterMark(new WriteBufferWaterMark(4, 8));
        guest.pipeline().fireChannelRead(bytes("sixteen bytes..."));
        assertThat(host.isWritable()).isFalse();
        assertThat(guest.config().isAutoRead()).isFalse();
        guest.pipeline().fireChannelReadComplete(); // the flush drains the host side
        host.runPendingTasks();
        assertThat(host.isWritable()).isTrue();
        assertThat(guest.config().isAutoRead()).isTrue();
        assertThat(text(host.readOutbound())).isEqualTo("sixteen bytes...");
    }

    @Test
    void whatTheFirstSideSeesBeforeItsPeerIsActiveIsHeldAndReplayed() throws Exception {
        EmbeddedChannel guest = new EmbeddedChannel(false, false); // not registered: open, not active
        Relay first = Relay.forNat(guest);
        EmbeddedChannel host = new EmbeddedChannel(first);
        host.config().setAutoRead(false);
        // a closing socket hands over its last bytes even with autoRead off
        host.pipeline().fireChannelRead(bytes("early"));
        host.pipeline().fireChannelReadComplete();
        host.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        host.pipeline().fireChannelInactive();
        assertThat(guest.isOpen()).isTrue();
        assertThat(host.config().isAutoRead()).isFalse();

        guest.pipeline().addLast(Relay.pairedWith(host, first));
        guest.register();
        guest.runPendingTasks();
        assertThat(text(guest.readOutbound())).isEqualTo("early");
        assertThat(guest.isOpen())
                .as("the held end reached the guest once it was active")
                .isFalse();
    }

    @Test
    void bytesHeldForAPeerThatNeverComesAreReleased() {
        Relay first = Relay.forNat(null);
        EmbeddedChannel host = new EmbeddedChannel(first);
        ByteBuf early = bytes("early");
        host.pipeline().fireChannelRead(early);
        assertThat(early.refCnt()).isEqualTo(1);
        host.close(); // a port forward whose guest refused
        assertThat(early.refCnt()).isZero();
    }

    @Test
    void withoutResetsAnErrorClosesThePeer() {
        EmbeddedChannel peer = new EmbeddedChannel();
        EmbeddedChannel side = new EmbeddedChannel(Relay.forTunnel(peer));
        side.pipeline().fireExceptionCaught(new IOException("connection reset"));
        peer.runPendingTasks();
        assertThat(side.isOpen()).isFalse();
        assertThat(peer.isOpen()).isFalse();
    }

    @Test
    void aLocalFailureClosesTheNatPeerAfterWhatWasQueued() {
        EmbeddedChannel[] pair = natPair();
        EmbeddedChannel host = pair[0];
        EmbeddedChannel guest = pair[1];
        host.pipeline().fireChannelRead(bytes("last words"));
        host.pipeline().fireExceptionCaught(new IllegalStateException("a bug"));
        guest.runPendingTasks();
        assertThat(text(guest.readOutbound())).isEqualTo("last words");
        assertThat(guest.isOpen()).isFalse();
        assertThat(host.isOpen()).isFalse();
    }
}
