package dev.c2w.bench;

import dev.c2w.netstack.wire.Checksum;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** The Internet checksum over a segment of {@code size} bytes, in heap and direct buffers. Score: ns per call. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ChecksumBench {
    @Param({"20", "1480", "65480"})
    int size;

    @Param({"heap", "direct"})
    String kind;

    ByteBuf buf;

    @Setup
    public void setUp() {
        buf = kind.equals("heap") ? Unpooled.buffer(size + 1) : Unpooled.directBuffer(size + 1);
        for (int i = 0; i <= size; i++) {
            buf.writeByte(i * 31);
        }
    }

    @Benchmark
    public int aligned() {
        return Checksum.compute(buf, 0, size);
    }

    /** Starting at an odd offset: IP payloads after a 14-byte Ethernet header often are. */
    @Benchmark
    public int oddOffset() {
        return Checksum.compute(buf, 1, size);
    }
}
