package dev.c2w.netstack.link;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.c2w.netstack.TestGuest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class QemuFrameDecoderTest {
    private static byte[] stream(List<byte[]> frames) {
        ByteBuf b = Unpooled.buffer();
        for (byte[] f : frames) {
            b.writeInt(f.length).writeBytes(f);
        }
        return TestGuest.bytes(b);
    }

    private static List<byte[]> randomFrames(Random r, int n) {
        List<byte[]> frames = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] f = new byte[14 + r.nextInt(1600)];
            r.nextBytes(f);
            frames.add(f);
        }
        return frames;
    }

    @Test
    void framesSplitAnywhereOrPackedTogetherComeOutWhole() {
        Random r = new Random(1);
        List<byte[]> frames = randomFrames(r, 200);
        byte[] all = stream(frames);
        EmbeddedChannel ch = new EmbeddedChannel(new QemuFrameDecoder(128 * 1024));
        int pos = 0;
        while (pos < all.length) {
            int n = Math.min(
                    all.length - pos, 1 + r.nextInt(r.nextBoolean() ? 3 : 5000)); // includes splits inside prefixes
            ch.writeInbound(Unpooled.wrappedBuffer(all, pos, n));
            pos += n;
        }
        for (byte[] f : frames) {
            ByteBuf got = ch.readInbound();
            assertThat(TestGuest.bytes(got)).isEqualTo(f);
            got.release();
        }
        assertThat(ch.<Object>readInbound()).isNull();
        assertThat(ch.isOpen()).isTrue();
    }

    @Test
    void zeroLengthClosesTheConnection() {
        EmbeddedChannel ch = new EmbeddedChannel(new QemuFrameDecoder(128 * 1024));
        ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {0, 0, 0, 0, 1, 2, 3}));
        assertThat(ch.isOpen()).isFalse();
    }

    @Test
    void hostileLengthClosesBeforeAnyAllocation() {
        EmbeddedChannel ch = new EmbeddedChannel(new QemuFrameDecoder(128 * 1024));
        ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xf0}));
        assertThat(ch.isOpen()).isFalse();
        assertThat(ch.<Object>readInbound()).isNull();
    }

    @Test
    void capIsInclusive() throws Exception {
        QemuStreamParser p = new QemuStreamParser(100);
        ByteBuf ok = Unpooled.buffer().writeInt(100).writeZero(100);
        ByteBuf f = p.next(ok);
        assertThat(f.readableBytes()).isEqualTo(100);
        f.release();
        assertThatThrownBy(() -> p.next(Unpooled.buffer().writeInt(101).writeZero(101)))
                .isInstanceOf(QemuStreamParser.BadLengthException.class)
                .hasMessageContaining("101");
    }

    @Test
    void partialPrefixWaits() throws Exception {
        QemuStreamParser p = new QemuStreamParser(100);
        ByteBuf b = Unpooled.buffer().writeShort(0);
        assertThat(p.next(b)).isNull();
        assertThat(b.readerIndex()).isZero();
    }

    @Test
    void lengthPrefixIsWrittenInPlaceWhenThereIsHeadroom() {
        ByteBuf f = Frames.allocate(ByteBufAllocator.DEFAULT, 60);
        f.writeZero(60);
        ByteBuf out = Frames.withLengthPrefix(ByteBufAllocator.DEFAULT, f);
        assertThat(out).isSameAs(f);
        assertThat(out.readableBytes()).isEqualTo(64);
        assertThat(out.getInt(out.readerIndex())).isEqualTo(60);
        out.release();
        ByteBuf plain = Unpooled.buffer().writeZero(30);
        ByteBuf out2 = Frames.withLengthPrefix(ByteBufAllocator.DEFAULT, plain);
        assertThat(out2.readableBytes()).isEqualTo(34);
        assertThat(out2.getInt(out2.readerIndex())).isEqualTo(30);
        out2.release();
    }

    @Test
    void receiveAllocatorReadsTheRestOfACutFrameIntoItsOwnBuffer() {
        QemuFrameDecoder decoder = new QemuFrameDecoder(128 * 1024);
        EmbeddedChannel ch = new EmbeddedChannel(decoder);
        RecvByteBufAllocator.ExtendedHandle h =
                (RecvByteBufAllocator.ExtendedHandle) decoder.recvAllocator().newHandle();
        h.reset(ch.config());
        byte[] frame = new byte[70_001];
        new Random(9).nextBytes(frame);
        byte[] next = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
        // no frame in progress: a fresh buffer of the handle's own size
        ByteBuf first = h.allocate(ByteBufAllocator.DEFAULT);
        assertThat(first.writableBytes()).isEqualTo(h.guess()).isLessThan(frame.length);
        first.writeInt(frame.length).writeBytes(frame, 0, 1000);
        ch.writeInbound(first);
        assertThat(ch.<Object>readInbound()).isNull();
        // a frame in progress: the next read goes into the rest of that frame's buffer, nothing more
        ByteBuf into = h.allocate(ByteBufAllocator.DEFAULT);
        assertThat(into.writableBytes()).isEqualTo(frame.length - 1000).isEqualTo(h.guess());
        // a read that returned nothing: the read loop releases its reference, the frame stays
        into.release();
        into = h.allocate(ByteBufAllocator.DEFAULT);
        into.writeBytes(frame, 1000, 30_000);
        ch.writeInbound(into);
        assertThat(ch.<Object>readInbound()).isNull();
        into = h.allocate(ByteBufAllocator.DEFAULT);
        assertThat(into.writableBytes()).isEqualTo(frame.length - 31_000);
        into.writeBytes(frame, 31_000, frame.length - 31_000);
        ch.writeInbound(into);
        ByteBuf got = ch.readInbound();
        assertThat(TestGuest.bytes(got)).isEqualTo(frame);
        assertThat(got.refCnt()).isEqualTo(1);
        got.release();
        // back to fresh buffers, and frames inside one read come out as they are
        ByteBuf again = h.allocate(ByteBufAllocator.DEFAULT);
        assertThat(again.refCnt()).isEqualTo(1);
        again.writeInt(next.length).writeBytes(next);
        ch.writeInbound(again);
        ByteBuf small = ch.readInbound();
        assertThat(TestGuest.bytes(small)).isEqualTo(next);
        small.release();
        assertThat(again.refCnt()).isZero();
    }

    @Test
    @SuppressWarnings("deprecation") // the allocator's handle type, as Netty 4.2 declares it
    void aFrameInProgressIsFreedWhenTheChannelCloses() {
        QemuFrameDecoder decoder = new QemuFrameDecoder(128 * 1024);
        EmbeddedChannel ch = new EmbeddedChannel(decoder);
        RecvByteBufAllocator.Handle h = decoder.recvAllocator().newHandle();
        h.reset(ch.config());
        ch.writeInbound(Unpooled.directBuffer().writeInt(5000).writeZero(10));
        ByteBuf pending = h.allocate(ByteBufAllocator.DEFAULT);
        assertThat(pending.refCnt()).isEqualTo(2);
        pending.release();
        ch.close();
        assertThat(pending.refCnt()).isZero();
    }

    @Test
    @SuppressWarnings("deprecation") // the allocator's handle type, as Netty 4.2 declares it
    void aCutFrameThatFitsIsCompletedInTheSameReadBuffer() {
        QemuFrameDecoder decoder = new QemuFrameDecoder(128 * 1024);
        EmbeddedChannel ch = new EmbeddedChannel(decoder);
        RecvByteBufAllocator.Handle h = decoder.recvAllocator().newHandle();
        h.reset(ch.config());
        Random r = new Random(4);
        byte[] f1 = new byte[100];
        byte[] f2 = new byte[500];
        byte[] f3 = new byte[51];
        r.nextBytes(f1);
        r.nextBytes(f2);
        r.nextBytes(f3);
        ByteBuf read = h.allocate(ByteBufAllocator.DEFAULT);
        assertThat(read.capacity()).isGreaterThanOrEqualTo(4 + 100 + 4 + 500 + 4 + 51);
        read.writeInt(f1.length).writeBytes(f1).writeInt(f2.length).writeBytes(f2, 0, 200);
        ch.writeInbound(read);
        ByteBuf got1 = ch.readInbound();
        assertThat(TestGuest.bytes(got1)).isEqualTo(f1);
        assertThat(ch.<Object>readInbound()).isNull();
        // the rest of f2 is read into the same buffer, after what is there
        ByteBuf again = h.allocate(ByteBufAllocator.DEFAULT);
        assertThat(again).isSameAs(read);
        assertThat(again.writerIndex()).isEqualTo(4 + 100 + 4 + 200);
        again.writeBytes(f2, 200, 300).writeInt(f3.length).writeBytes(f3);
        ch.writeInbound(again);
        ByteBuf got2 = ch.readInbound();
        ByteBuf got3 = ch.readInbound();
        assertThat(TestGuest.bytes(got2)).isEqualTo(f2);
        assertThat(TestGuest.bytes(got3)).isEqualTo(f3);
        assertThat(got2.unwrap()).isSameAs(read.unwrap() == null ? read : read.unwrap());
        got1.release();
        got2.release();
        got3.release();
        assertThat(read.refCnt()).isZero();
        // with nothing cut off, the next read gets a new buffer
        ByteBuf fresh = h.allocate(ByteBufAllocator.DEFAULT);
        assertThat(fresh.refCnt()).isEqualTo(1);
        fresh.release();
    }
}
