package dev.c2w.bench;

import dev.c2w.netstack.link.QemuFrameDecoder;
import dev.c2w.netstack.link.QemuStreamParser;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Splitting a QEMU stream into frames: the parser alone over a buffer of whole frames, and the Netty
 * decoder fed reads of {@code readSize} bytes whose ends fall mid-frame (what a socket delivers), so
 * the cumulation cost shows. Score: nanoseconds per frame.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class FrameDecodeBench {
    static final int FRAMES = 64;

    @Param({"1514", "65534"})
    int frameSize;

    @Param({"65536"})
    int readSize;

    ByteBuf stream;
    QemuStreamParser parser;
    EmbeddedChannel channel;

    @Setup(Level.Trial)
    public void setUp() {
        stream = PooledByteBufAllocator.DEFAULT.directBuffer(FRAMES * (frameSize + 4));
        for (int i = 0; i < FRAMES; i++) {
            stream.writeInt(frameSize);
            for (int j = 0; j < frameSize; j++) {
                stream.writeByte(j);
            }
        }
        parser = new QemuStreamParser(128 * 1024);
        channel = new EmbeddedChannel(new QemuFrameDecoder(128 * 1024));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        channel.finishAndReleaseAll();
        stream.release();
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public void parser(Blackhole bh) throws Exception {
        ByteBuf in = stream.duplicate();
        ByteBuf f;
        while ((f = parser.next(in)) != null) {
            bh.consume(f.getByte(0));
            f.release();
        }
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public void nettyDecoder(Blackhole bh) {
        int total = stream.writerIndex();
        for (int off = 0; off < total; off += readSize) {
            int n = Math.min(readSize, total - off);
            channel.writeInbound(stream.retainedSlice(off, n));
            Object o;
            while ((o = channel.readInbound()) != null) {
                ByteBuf f = (ByteBuf) o;
                bh.consume(f.getByte(0));
                f.release();
            }
        }
    }
}
