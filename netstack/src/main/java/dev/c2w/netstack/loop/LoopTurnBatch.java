package dev.c2w.netstack.loop;

import io.netty.channel.EventLoop;
import java.util.ArrayList;
import java.util.function.Consumer;

/**
 * Work collected during one event-loop turn and done once at its end: the first item added schedules one
 * task on the loop, which runs after the I/O of the current turn, so a burst of frames costs one flush per
 * port, one ACK per connection. Items added while the batch runs are handled in the same run.
 *
 * <p>The batch does not deduplicate: callers keep a flag on the item ("already queued") and add it once.
 * Event-loop confined.
 */
public final class LoopTurnBatch<T> {
    private final EventLoop loop;
    private final Consumer<T> action;
    private final ArrayList<T> items = new ArrayList<>();
    private final Runnable task = this::run;

    /** A batch on {@code loop} that calls {@code action} for each item at the end of the turn. */
    public LoopTurnBatch(EventLoop loop, Consumer<T> action) {
        this.loop = loop;
        this.action = action;
    }

    /** Queues {@code item} for the end of this turn. */
    public void add(T item) {
        if (items.isEmpty()) {
            loop.execute(task);
        }
        items.add(item);
    }

    private void run() {
        for (int i = 0; i < items.size(); i++) {
            action.accept(items.get(i));
        }
        items.clear();
    }
}
