package io.ferry.migration;

import io.ferry.channel.GuestReport;
import io.ferry.guest.GuestState;
import io.ferry.guest.SyntheticGuest;

/** A hosted guest as the engine drives it: its bytes, and state changes the worker records. */
public interface MigratingGuest {

    SyntheticGuest guest();

    /** Changes the guest's state through the worker, so the control plane learns of it. */
    void changeState(GuestState next);

    /** The worker's report of this guest now (state, state sequence), for the control plane. */
    GuestReport report();
}
