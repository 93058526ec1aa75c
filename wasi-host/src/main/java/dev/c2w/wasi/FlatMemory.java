package dev.c2w.wasi;

import com.dylibso.chicory.runtime.ConstantEvaluators;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.runtime.WasmRuntimeException;
import com.dylibso.chicory.wasm.types.ActiveDataSegment;
import com.dylibso.chicory.wasm.types.DataSegment;
import com.dylibso.chicory.wasm.types.MemoryLimits;
import com.dylibso.chicory.wasm.types.PassiveDataSegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A Wasm linear memory in one flat byte array, for the modules the runner runs.
 *
 * <p>Why not Chicory's ByteArrayMemory: it keeps memory in 64 KiB pages (byte[][]), so every load and
 * store in compiled code masks the address, loads the page array, bounds-checks and loads the page,
 * then bounds-checks the offset in it. An emulator compiled to Wasm does several such accesses per
 * guest instruction (its registers live in linear memory), and in profiles of our guest they were
 * about 40 % of the run. Here an access is one array access through a little-endian byte array view,
 * and its bounds check is the one the JVM does anyway (one unsigned compare): the loads and stores
 * compiled code calls catch the JVM's IndexOutOfBoundsException and throw the Wasm trap instead,
 * which costs nothing until it happens. A check of our own before the access doubled the compares
 * (the JIT does not merge the two) and cost about 8 % of guest speed.
 *
 * <p>The array has room for the current size only: grow() allocates the new size and copies (a module
 * grows rarely, an emulator once for its guest RAM), so memory never holds more than the module asked
 * for. Sizes are capped at Chicory's runtime maximum (2 GiB - 64 KiB, what a Java array can hold).
 * Out-of-bounds accesses throw WasmRuntimeException ("out of bounds memory access"), the trap
 * Chicory's own memories raise. Not shared: atomics work (one thread), waits trap.
 */
final class FlatMemory implements Memory {
    private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private final MemoryLimits limits;
    private final int maxPages;
    private byte[] buf;
    private int pages;
    private DataSegment[] dataSegments = new DataSegment[0];

    FlatMemory(MemoryLimits limits) {
        if (limits.shared()) {
            throw new WasmRuntimeException("shared memories are not supported by this runner");
        }
        this.limits = limits;
        this.maxPages = Math.min(limits.maximumPages(), RUNTIME_MAX_PAGES);
        if (limits.initialPages() > maxPages) {
            throw new WasmRuntimeException(
                    "initial memory of " + limits.initialPages() + " pages is over the maximum " + maxPages);
        }
        this.pages = limits.initialPages();
        this.buf = new byte[Memory.bytes(pages)];
    }

    private WasmRuntimeException outOfBounds(int addr, int size) {
        return new WasmRuntimeException("out of bounds memory access: attempted to access address "
                + Integer.toUnsignedString(addr) + " (size " + size + ") but memory is " + buf.length + " bytes");
    }

    /** addr .. addr+size-1 inside memory, else the trap. */
    private void check(int addr, int size) {
        if (addr < 0 || size < 0 || addr > buf.length - size) {
            throw outOfBounds(addr, size);
        }
    }

    @Override
    public int pages() {
        return pages;
    }

    @Override
    public int grow(int more) {
        int old = pages;
        if (more < 0 || more > maxPages - old) {
            return -1;
        }
        if (more == 0) {
            return old;
        }
        // an OutOfMemoryError here reaches the runner, which names -Xmx (README "Memory")
        buf = Arrays.copyOf(buf, Memory.bytes(old + more));
        pages = old + more;
        return old;
    }

    @Override
    public int initialPages() {
        return limits.initialPages();
    }

    @Override
    public int maximumPages() {
        return maxPages;
    }

    @Override
    public boolean shared() {
        return false;
    }

    @Override
    @SuppressWarnings("removal") // still part of Chicory 1.7's Memory interface
    public Object lock(int address) {
        return this;
    }

    @Override
    @SuppressWarnings("removal") // still part of Chicory 1.7's Memory interface
    public int waitOn(int address, int expected, long timeout) {
        throw new WasmRuntimeException("atomic wait on unshared memory");
    }

    @Override
    @SuppressWarnings("removal") // still part of Chicory 1.7's Memory interface
    public int waitOn(int address, long expected, long timeout) {
        throw new WasmRuntimeException("atomic wait on unshared memory");
    }

    @Override
    @SuppressWarnings("removal") // still part of Chicory 1.7's Memory interface
    public int notify(int address, int maxThreads) {
        check(address, 4);
        return 0;
    }

    @Override
    public void initialize(Instance instance, DataSegment[] segments) {
        initialize(instance, segments, 0);
    }

    @Override
    public void initialize(Instance instance, DataSegment[] segments, int memoryIndex) {
        if (segments == null) {
            return;
        }
        this.dataSegments = segments;
        for (DataSegment s : segments) {
            if (s instanceof ActiveDataSegment a) {
                if (a.index() != memoryIndex) {
                    continue;
                }
                int offset = (int) ConstantEvaluators.computeConstantValue(instance, a.offsetInstructions())[0];
                byte[] data = a.data();
                write(offset, data, 0, data.length);
            } else if (!(s instanceof PassiveDataSegment)) {
                throw new WasmRuntimeException("unknown data segment kind " + s);
            }
        }
    }

    @Override
    public void initPassiveSegment(int segmentId, int dest, int offset, int size) {
        byte[] data = dataSegments[segmentId].data();
        if (offset < 0 || size < 0 || offset > data.length - size) {
            throw outOfBounds(dest, size);
        }
        write(dest, data, offset, size);
    }

    @Override
    public void drop(int segment) {
        dataSegments[segment] = PassiveDataSegment.EMPTY;
    }

    @Override
    public void write(int addr, byte[] data, int offset, int size) {
        check(addr, size);
        System.arraycopy(data, offset, buf, addr, size);
    }

    @Override
    public byte read(int addr) {
        try {
            return buf[addr];
        } catch (IndexOutOfBoundsException e) {
            throw outOfBounds(addr, 1);
        }
    }

    @Override
    public byte[] readBytes(int addr, int len) {
        check(addr, len);
        return Arrays.copyOfRange(buf, addr, addr + len);
    }

    @Override
    public void writeI32(int addr, int v) {
        try {
            INT.set(buf, addr, v);
        } catch (IndexOutOfBoundsException e) {
            throw outOfBounds(addr, 4);
        }
    }

    @Override
    public int readInt(int addr) {
        try {
            return (int) INT.get(buf, addr);
        } catch (IndexOutOfBoundsException e) {
            throw outOfBounds(addr, 4);
        }
    }

    @Override
    public void writeLong(int addr, long v) {
        try {
            LONG.set(buf, addr, v);
        } catch (IndexOutOfBoundsException e) {
            throw outOfBounds(addr, 8);
        }
    }

    @Override
    public long readLong(int addr) {
        try {
            return (long) LONG.get(buf, addr);
        } catch (IndexOutOfBoundsException e) {
            throw outOfBounds(addr, 8);
        }
    }

    @Override
    public void writeShort(int addr, short v) {
        try {
            SHORT.set(buf, addr, v);
        } catch (IndexOutOfBoundsException e) {
            throw outOfBounds(addr, 2);
        }
    }

    @Override
    public short readShort(int addr) {
        try {
            return (short) SHORT.get(buf, addr);
        } catch (IndexOutOfBoundsException e) {
            throw outOfBounds(addr, 2);
        }
    }

    @Override
    public long readU16(int addr) {
        return readShort(addr) & 0xffffL;
    }

    @Override
    public void writeByte(int addr, byte v) {
        try {
            buf[addr] = v;
        } catch (IndexOutOfBoundsException e) {
            throw outOfBounds(addr, 1);
        }
    }

    @Override
    public void writeF32(int addr, float v) {
        writeI32(addr, Float.floatToRawIntBits(v));
    }

    @Override
    public long readF32(int addr) {
        return readInt(addr);
    }

    @Override
    public float readFloat(int addr) {
        return Float.intBitsToFloat(readInt(addr));
    }

    @Override
    public void writeF64(int addr, double v) {
        writeLong(addr, Double.doubleToRawLongBits(v));
    }

    @Override
    public double readDouble(int addr) {
        return Double.longBitsToDouble(readLong(addr));
    }

    @Override
    public long readF64(int addr) {
        return readLong(addr);
    }

    @Override
    public void zero() {
        Arrays.fill(buf, (byte) 0);
    }

    @Override
    public void fill(byte value, int fromIndex, int toIndex) {
        check(fromIndex, toIndex - fromIndex);
        Arrays.fill(buf, fromIndex, toIndex, value);
    }

    @Override
    public void copy(int dest, int src, int size) {
        check(src, size);
        check(dest, size);
        System.arraycopy(buf, src, buf, dest, size);
    }
}
