// Custom metrics of a run. Delivery latency is measured from the sender's
// clock (its send time travels in the message text) to the receiver's: all
// VUs run in one k6 process, so both clocks are the same clock.
import { Counter, Rate, Trend } from 'k6/metrics';

export const sent = new Counter('messages_sent');
export const received = new Counter('messages_received');
export const missing = new Counter('messages_missing');
export const duplicated = new Counter('messages_duplicated');
export const outOfOrder = new Counter('messages_out_of_order');
export const crossInstance = new Counter('cross_instance_deliveries');
// Per member: did it receive a message that entered through another instance?
// Members of a room spread over two or more instances all do; a room held by
// one instance (or cut off from the others' messages) makes its members fail.
export const crossInstanceMembers = new Rate('cross_instance_members');
// Per member, with one user per VU: once its room was full, did presence count
// as many distinct users as members? Sampled only when the wrapper expects it.
export const distinctUsers = new Rate('presence_distinct_users');
export const serverErrors = new Counter('server_errors');
export const deliveryLatency = new Trend('delivery_latency', true);
export const connectTime = new Trend('ws_connect_time', true);
