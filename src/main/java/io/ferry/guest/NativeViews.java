package io.ferry.guest;

import io.netty.util.internal.PlatformDependent;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.nio.Buffer;
import java.nio.ByteBuffer;

/**
 * Direct {@link ByteBuffer}s over memory we allocated ourselves with {@code Unsafe} malloc, which
 * Netty can then wrap without copying.
 *
 * <p>Why not {@code Unpooled.wrappedBuffer(address, length, false)}: on JDK 9+ Netty builds such
 * a buffer through the private {@code DirectByteBuffer(long, int)} constructor, which it may only
 * call when the JVM runs with {@code --add-opens java.base/java.nio=ALL-UNNAMED} and
 * {@code -Dio.netty.tryReflectionSetAccessible=true}; without them it throws
 * UnsupportedOperationException. Instead we duplicate a tiny template direct buffer and point the
 * duplicate at our memory by setting {@code Buffer.address} and {@code Buffer.capacity} with
 * {@code Unsafe} — the route LWJGL's {@code MemoryUtil.memByteBuffer} takes. It needs no JVM flags,
 * only the same {@code Buffer.address} field Netty itself relies on. A duplicate never frees: its
 * cleaner belongs to the template, and {@code Unsafe.invokeCleaner} refuses duplicates.
 *
 * <p>sun.misc.Unsafe is reached through method handles so the build stays free of
 * "internal proprietary API" warnings.
 */
final class NativeViews {

    private static final ByteBuffer TEMPLATE = ByteBuffer.allocateDirect(0);
    private static final long ADDRESS_OFFSET;
    private static final long CAPACITY_OFFSET;
    private static final MethodHandle PUT_LONG; // (Object, long, long) void
    private static final MethodHandle PUT_INT;  // (Object, long, int) void

    static {
        if (!PlatformDependent.hasUnsafe()) {
            throw new UnsupportedOperationException(
                    "guest memory needs sun.misc.Unsafe", PlatformDependent.getUnsafeUnavailabilityCause());
        }
        try {
            Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
            Field theUnsafe = unsafeClass.getDeclaredField("theUnsafe");
            theUnsafe.setAccessible(true); // jdk.unsupported opens sun.misc
            Object unsafe = theUnsafe.get(null);
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            MethodHandle fieldOffset = lookup.findVirtual(unsafeClass, "objectFieldOffset",
                    MethodType.methodType(long.class, Field.class)).bindTo(unsafe);
            ADDRESS_OFFSET = (long) fieldOffset.invokeExact(Buffer.class.getDeclaredField("address"));
            CAPACITY_OFFSET = (long) fieldOffset.invokeExact(Buffer.class.getDeclaredField("capacity"));
            PUT_LONG = lookup.findVirtual(unsafeClass, "putLong",
                    MethodType.methodType(void.class, Object.class, long.class, long.class)).bindTo(unsafe);
            PUT_INT = lookup.findVirtual(unsafeClass, "putInt",
                    MethodType.methodType(void.class, Object.class, long.class, int.class)).bindTo(unsafe);
        } catch (Throwable e) {
            throw new UnsupportedOperationException("cannot build direct views over native memory", e);
        }
        selfCheck();
    }

    private NativeViews() {
    }

    /** A direct buffer over {@code [address, address + length)}, position 0, limit {@code length}. */
    static ByteBuffer wrap(long address, int length) {
        ByteBuffer view = TEMPLATE.duplicate();
        try {
            PUT_LONG.invokeExact((Object) view, ADDRESS_OFFSET, address);
            PUT_INT.invokeExact((Object) view, CAPACITY_OFFSET, length);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
        view.clear();
        return view;
    }

    // If a future JDK lays Buffer out differently, fail here, once, rather than corrupt guests.
    private static void selfCheck() {
        long memory = PlatformDependent.allocateMemory(16);
        try {
            PlatformDependent.putLong(memory + 8, 0x0123456789abcdefL);
            ByteBuffer view = wrap(memory + 8, 8).order(java.nio.ByteOrder.nativeOrder());
            if (view.capacity() != 8 || view.getLong(0) != 0x0123456789abcdefL
                    || PlatformDependent.directBufferAddress(view) != memory + 8) {
                throw new UnsupportedOperationException("direct view self-check failed on this JVM");
            }
        } finally {
            PlatformDependent.freeMemory(memory);
        }
    }
}
