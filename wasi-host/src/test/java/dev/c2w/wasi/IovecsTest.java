package dev.c2w.wasi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.runtime.WasmRuntimeException;
import com.dylibso.chicory.wasm.types.MemoryLimits;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** {@link Iovecs} on a one-page {@link FlatMemory}: where an iovec array is checked, and what scatter and gather touch. */
class IovecsTest {
    static final int PAGE = Memory.PAGE_SIZE;

    final FlatMemory m = new FlatMemory(new MemoryLimits(1, 1));
    final Iovecs iov = new Iovecs();

    /** Writes {base, len} pairs at {@code at}. */
    void iovecs(int at, int... baseLen) {
        for (int i = 0; i < baseLen.length; i++) {
            m.writeI32(at + 4 * i, baseLen[i]);
        }
    }

    @Test
    void loadReturnsTheTotalOfTheLengths() {
        iovecs(16, 100, 3, 200, 0, 300, 10);
        assertThat(iov.load(m, 16, 3)).isEqualTo(13);
        assertThat(iov.count()).isEqualTo(3);
        assertThat(iov.load(m, 16, 0)).isZero();
        assertThat(iov.count()).isZero();
    }

    @Test
    void aCountOverIovMaxOrOver2To31IsRefusedBeforeMemoryIsRead() {
        assertThat(iov.load(m, PAGE + 100, Iovecs.IOV_MAX + 1)).isEqualTo(-1);
        assertThat(iov.load(m, PAGE + 100, -1)).isEqualTo(-1);
        assertThat(iov.load(m, PAGE + 100, Integer.MIN_VALUE)).isEqualTo(-1);
        assertThat(iov.count()).isZero();
        assertThat(iov.load(m, 0, Iovecs.IOV_MAX)).as("IOV_MAX itself is fine").isZero();
        assertThat(iov.count()).isEqualTo(Iovecs.IOV_MAX);
    }

    @Test
    void anArrayRunningPastTheEndOfMemoryTrapsAndOneEndingAtItDoesNot() {
        assertThatThrownBy(() -> iov.load(m, PAGE - 12, 2))
                .isInstanceOf(WasmRuntimeException.class)
                .hasMessageContaining("out of bounds memory access")
                .hasMessageContaining("2 iovecs at " + (PAGE - 12));
        assertThatThrownBy(() -> iov.load(m, PAGE, 1)).isInstanceOf(WasmRuntimeException.class);
        assertThatThrownBy(() -> iov.load(m, -8, 1))
                .as("an address over 2 GiB, not a negative one")
                .isInstanceOf(WasmRuntimeException.class)
                .hasMessageContaining("at " + Integer.toUnsignedString(-8));
        iovecs(PAGE - 16, 100, 1, 200, 2);
        assertThat(iov.load(m, PAGE - 16, 2)).isEqualTo(3);
        assertThat(iov.load(m, PAGE + 4096, 0))
                .as("no iovecs: the address is not looked at")
                .isZero();
    }

    @Test
    void theArrayIsCheckedAgainstTheMemoryAsItIsNow() {
        FlatMemory grown = new FlatMemory(new MemoryLimits(1, 2));
        assertThatThrownBy(() -> iov.load(grown, PAGE, 1)).isInstanceOf(WasmRuntimeException.class);
        grown.grow(1);
        assertThat(iov.load(grown, PAGE, 1)).isZero();
    }

    @Test
    void lengthsAddingUpToMoreThan2To31Minus1AreRefused() {
        iovecs(16, 100, 0x7fffffff, 200, 0);
        assertThat(iov.load(m, 16, 2)).isEqualTo(Integer.MAX_VALUE);
        iovecs(16, 100, 0x7fffffff, 200, 1);
        assertThat(iov.load(m, 16, 2)).isEqualTo(-1);
        assertThat(iov.count()).isZero();
        iovecs(16, 100, 0xffffffff);
        assertThat(iov.load(m, 16, 1)).as("a length is unsigned").isEqualTo(-1);
    }

    @Test
    void scatterFillsEachBufferInTurnAndStopsAtTheLength() {
        m.fill((byte) '.', 0, 400);
        iovecs(16, 100, 3, 200, 0, 300, 10);
        iov.load(m, 16, 3);
        byte[] src = "abcdefgh".getBytes(StandardCharsets.US_ASCII);
        iov.scatter(m, src, 5);
        assertThat(text(100, 4)).isEqualTo("abc.");
        assertThat(text(200, 1)).isEqualTo(".");
        assertThat(text(300, 4)).isEqualTo("de..");
    }

    @Test
    void scatterTrapsOnlyWhenBytesReachABufferPastTheEnd() {
        iovecs(16, 100, 4, PAGE - 2, 8);
        assertThat(iov.load(m, 16, 2)).isEqualTo(12);
        iov.scatter(m, new byte[12], 4);
        iov.scatter(m, new byte[12], 6);
        assertThatThrownBy(() -> iov.scatter(m, new byte[12], 7))
                .isInstanceOf(WasmRuntimeException.class)
                .hasMessageContaining("out of bounds memory access");
    }

    @Test
    void gatherConcatenatesTheBuffersAndTrapsOnAnyBufferOutsideMemory() {
        m.write(100, "ab".getBytes(StandardCharsets.US_ASCII), 0, 2);
        m.write(300, "cde".getBytes(StandardCharsets.US_ASCII), 0, 3);
        iovecs(16, 100, 2, 200, 0, 300, 3);
        int total = iov.load(m, 16, 3);
        assertThat(new String(iov.gather(m, total), StandardCharsets.US_ASCII)).isEqualTo("abcde");
        iovecs(16, 100, 2, PAGE - 1, 2);
        int t2 = iov.load(m, 16, 2);
        assertThatThrownBy(() -> iov.gather(m, t2)).isInstanceOf(WasmRuntimeException.class);
        iovecs(16, 100, 2, PAGE + 1, 0);
        int t3 = iov.load(m, 16, 2);
        assertThatThrownBy(() -> iov.gather(m, t3)).as("even an empty one").isInstanceOf(WasmRuntimeException.class);
    }

    @Test
    void aRefusedLoadLeavesNothingToScatter() {
        iovecs(16, 100, 4);
        iov.load(m, 16, 1);
        iov.load(m, 16, -1);
        m.fill((byte) '.', 100, 104);
        iov.scatter(m, "abcd".getBytes(StandardCharsets.US_ASCII), 4);
        assertThat(text(100, 4)).isEqualTo("....");
    }

    @Test
    void theScratchBufferIsReusedAndGrowsForRequestsUpToItsCap() {
        byte[] a = iov.scratch(1);
        assertThat(a.length).isGreaterThanOrEqualTo(1);
        assertThat(iov.scratch(a.length)).isSameAs(a);
        byte[] b = iov.scratch(a.length + 1);
        assertThat(b.length).isGreaterThan(a.length);
        assertThat(iov.scratch(1)).isSameAs(b);
        byte[] c = iov.scratch(Integer.MAX_VALUE);
        assertThat(c.length).isGreaterThanOrEqualTo(Iovecs.SCRATCH_MAX).isLessThan(2 * Iovecs.SCRATCH_MAX);
        assertThat(iov.scratch(Integer.MAX_VALUE)).isSameAs(c);
    }

    String text(int at, int len) {
        return new String(m.readBytes(at, len), StandardCharsets.US_ASCII);
    }
}
