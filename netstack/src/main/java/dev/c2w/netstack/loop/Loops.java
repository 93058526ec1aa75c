package dev.c2w.netstack.loop;

import io.netty.util.concurrent.EventExecutor;

/** The one way to run code on an event loop from wherever the caller is. */
public final class Loops {
    private Loops() {}

    /** Runs {@code task} now when called on {@code loop}, else posts it to the loop. */
    public static void run(EventExecutor loop, Runnable task) {
        if (loop.inEventLoop()) {
            task.run();
        } else {
            loop.execute(task);
        }
    }
}
