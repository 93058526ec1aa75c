package dev.c2w.wasi;

import com.dylibso.chicory.wasi.WasiPreview1;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.file.Path;

/**
 * Keeps Chicory's WASI fd table and ours from handing out the same number. Chicory 1.7.5 keeps its
 * descriptors in a private table and gives a new file the lowest free number; our sockets live outside
 * that table, so their numbers are reserved in it with an inert placeholder (every call on a socket fd is
 * answered by {@link WasiHost} before Chicory could see it). Chicory offers no public way to do this, so
 * this reaches into its private field (fine on the class path, where Chicory is an unnamed module).
 */
final class ChicoryFdTable {
    private final Object table;
    private final Method allocate;
    private final Method free;
    private final Method get;
    private final Object placeholder;

    ChicoryFdTable(WasiPreview1 wasi) {
        try {
            Field f = WasiPreview1.class.getDeclaredField("descriptors");
            f.setAccessible(true);
            table = f.get(wasi);
            Class<?> tableClass = table.getClass();
            Class<?> descriptor = Class.forName(
                    "com.dylibso.chicory.wasi.Descriptors$Descriptor", false, tableClass.getClassLoader());
            allocate = tableClass.getDeclaredMethod("allocate", descriptor);
            free = tableClass.getDeclaredMethod("free", int.class);
            get = tableClass.getDeclaredMethod("get", int.class);
            allocate.setAccessible(true);
            free.setAccessible(true);
            get.setAccessible(true);
            placeholder = Proxy.newProxyInstance(
                    descriptor.getClassLoader(), new Class<?>[] {descriptor}, (proxy, m, args) -> switch (m.getName()) {
                        case "toString" -> "socket placeholder";
                        case "hashCode" -> System.identityHashCode(proxy);
                        case "equals" -> proxy == args[0];
                        default -> throw new UnsupportedOperationException(m.getName());
                    });
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException(
                    "this Chicory version's WASI fd table is not the one the runner knows"
                            + " (needs com.dylibso.chicory:wasi 1.7.5): " + e,
                    e);
        }
    }

    /** Reserves the lowest free fd number and returns it. */
    int reserve() {
        try {
            return (Integer) allocate.invoke(table, placeholder);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    void release(int fd) {
        try {
            free.invoke(table, fd);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The host directory behind a directory fd (pre-opened or opened), or null when {@code fd} is not one. */
    Path directory(int fd) {
        try {
            Object d = get.invoke(table, fd);
            if (d == null) {
                return null;
            }
            for (Class<?> i : d.getClass().getInterfaces()) {
                if (i.getName().equals("com.dylibso.chicory.wasi.Descriptors$Directory")) {
                    Method path = i.getDeclaredMethod("path");
                    path.setAccessible(true);
                    return (Path) path.invoke(d);
                }
            }
            return null;
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** True when Chicory has a descriptor (a file, a directory, stdio or one of our placeholders) at {@code fd}. */
    boolean isOpen(int fd) {
        try {
            return get.invoke(table, fd) != null;
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }
}
