/**
 * The control channel between the control plane and workers: plain JSON records over HTTP,
 * shared by both roles. Commands go control plane → worker ({@link io.ferry.channel.ControlChannel#GUESTS});
 * registration and heartbeats go worker → control plane. Both directions carry the worker token
 * as a bearer token. No Spring, no Netty here: only the vocabulary.
 */
package io.ferry.channel;
