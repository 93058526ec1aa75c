package dev.c2w.wasi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.runtime.WasmRuntimeException;
import com.dylibso.chicory.wasm.types.DataSegment;
import com.dylibso.chicory.wasm.types.MemoryLimits;
import com.dylibso.chicory.wasm.types.PassiveDataSegment;
import org.junit.jupiter.api.Test;

class FlatMemoryTest {
    private static final int PAGE = Memory.PAGE_SIZE;

    @Test
    void loadsAndStoresAreLittleEndianAndAgreeAcrossWidths() {
        FlatMemory m = new FlatMemory(new MemoryLimits(1, 4));
        m.writeLong(8, 0x0102030405060708L);
        assertThat(m.read(8)).isEqualTo((byte) 0x08);
        assertThat(m.read(15)).isEqualTo((byte) 0x01);
        assertThat(m.readInt(8)).isEqualTo(0x05060708);
        assertThat(m.readShort(12)).isEqualTo((short) 0x0304);
        assertThat(m.readU16(14)).isEqualTo(0x0102L);
        m.writeShort(3, (short) 0xfffe);
        assertThat(m.readU16(3)).isEqualTo(0xfffeL);
        m.writeF64(16, -2.5);
        assertThat(m.readDouble(16)).isEqualTo(-2.5);
        assertThat(m.readF64(16)).isEqualTo(Double.doubleToRawLongBits(-2.5));
        m.writeF32(24, 1.5f);
        assertThat(m.readFloat(24)).isEqualTo(1.5f);
        m.writeI32(PAGE - 4, 0xcafebabe); // last word, unaligned accesses elsewhere
        assertThat(m.readInt(PAGE - 4)).isEqualTo(0xcafebabe);
        m.writeLong(1, -1L);
        assertThat(m.readLong(1)).isEqualTo(-1L);
    }

    @Test
    void everyAccessPastTheEndOrAtANegativeAddressTraps() {
        FlatMemory m = new FlatMemory(new MemoryLimits(1, 4));
        assertThatThrownBy(() -> m.readLong(PAGE - 7))
                .isInstanceOf(WasmRuntimeException.class)
                .hasMessageContaining("out of bounds memory access");
        assertThatThrownBy(() -> m.readInt(PAGE - 3)).isInstanceOf(WasmRuntimeException.class);
        assertThatThrownBy(() -> m.readShort(PAGE - 1)).isInstanceOf(WasmRuntimeException.class);
        assertThatThrownBy(() -> m.read(PAGE)).isInstanceOf(WasmRuntimeException.class);
        assertThatThrownBy(() -> m.writeByte(PAGE, (byte) 1)).isInstanceOf(WasmRuntimeException.class);
        assertThatThrownBy(() -> m.read(-1)).isInstanceOf(WasmRuntimeException.class); // an address over 2 GiB
        assertThatThrownBy(() -> m.writeLong(Integer.MIN_VALUE, 1)).isInstanceOf(WasmRuntimeException.class);
        assertThatThrownBy(() -> m.write(PAGE - 2, new byte[3], 0, 3)).isInstanceOf(WasmRuntimeException.class);
        assertThatThrownBy(() -> m.fill((byte) 1, PAGE - 1, PAGE + 1)).isInstanceOf(WasmRuntimeException.class);
        assertThatThrownBy(() -> m.copy(0, PAGE - 1, 2)).isInstanceOf(WasmRuntimeException.class);
        assertThat(m.readLong(PAGE - 8)).isZero(); // the last bytes themselves are fine
    }

    @Test
    void growReturnsTheOldSizeKeepsTheContentsAndFailsPastTheMaximum() {
        FlatMemory m = new FlatMemory(new MemoryLimits(1, 3));
        m.writeI32(100, 42);
        assertThat(m.grow(0)).isEqualTo(1);
        assertThat(m.grow(2)).isEqualTo(1);
        assertThat(m.pages()).isEqualTo(3);
        assertThat(m.readInt(100)).isEqualTo(42);
        m.writeLong(3 * PAGE - 8, 7L); // the new pages are usable
        assertThat(m.readLong(3 * PAGE - 8)).isEqualTo(7L);
        assertThat(m.grow(1)).isEqualTo(-1);
        assertThat(m.grow(-1)).isEqualTo(-1);
        assertThat(m.pages()).isEqualTo(3);
        assertThatThrownBy(() -> m.read(3 * PAGE)).isInstanceOf(WasmRuntimeException.class);
    }

    @Test
    void fillAndOverlappingCopyBehaveLikeMemmove() {
        FlatMemory m = new FlatMemory(new MemoryLimits(1, 1));
        for (int i = 0; i < 8; i++) {
            m.writeByte(i, (byte) i);
        }
        m.copy(2, 0, 6); // forward overlap
        assertThat(m.readBytes(0, 8)).containsExactly(0, 1, 0, 1, 2, 3, 4, 5);
        m.copy(0, 2, 6); // backward overlap
        assertThat(m.readBytes(0, 8)).containsExactly(0, 1, 2, 3, 4, 5, 4, 5);
        m.fill((byte) 9, 4, 6);
        assertThat(m.readBytes(0, 8)).containsExactly(0, 1, 2, 3, 9, 9, 4, 5);
        m.zero();
        assertThat(m.readLong(0)).isZero();
    }

    @Test
    void passiveSegmentsInitialiseWithinBoundsAndAreEmptyAfterDrop() {
        FlatMemory m = new FlatMemory(new MemoryLimits(1, 1));
        m.initialize(null, new DataSegment[] {new PassiveDataSegment(new byte[] {1, 2, 3, 4})});
        m.initPassiveSegment(0, 10, 1, 3);
        assertThat(m.readBytes(10, 3)).containsExactly(2, 3, 4);
        assertThatThrownBy(() -> m.initPassiveSegment(0, 10, 2, 3)).isInstanceOf(WasmRuntimeException.class);
        m.drop(0);
        assertThatThrownBy(() -> m.initPassiveSegment(0, 10, 0, 1)).isInstanceOf(WasmRuntimeException.class);
        m.initPassiveSegment(0, 10, 0, 0); // a dropped segment still allows an empty init
    }

    @Test
    void sharedMemoriesAreRefusedWithAMessage() {
        assertThatThrownBy(() -> new FlatMemory(new MemoryLimits(1, 2, true)))
                .isInstanceOf(WasmRuntimeException.class)
                .hasMessageContaining("shared");
    }
}
