/* Prints the gateway layout of include/dragon/gateway.h as JSON: every
 * field offset, struct size and code a client must agree on. The
 * TypeScript client's copy (src/runtime/core/ffi/gateway-wire.ts) is
 * compared with it by test/core/gateway-wire.test.ts. */
#include <stddef.h>
#include <stdio.h>

#include "dragon/gateway.h"

#define F(type, field) printf("\"%s\":%zu,", #field, offsetof(type, field))
#define END(type) printf("\"size\":%zu}", sizeof(type))
#define C(name, value) printf("\"%s\":%d,", name, (int)(value))

int main(void)
{
    printf("{\"version\":%d,\"descBytes\":%d,\"memMax\":%u,", GW_VERSION, GW_DESC_BYTES, (unsigned)MEM_MAX);
    printf("\"reqMagic\":\"%s\",\"repMagic\":\"%s\",", GW_REQ_MAGIC, GW_REP_MAGIC);
    printf("\"REQ\":{");
    F(gw_req_t, magic); F(gw_req_t, version); F(gw_req_t, op); F(gw_req_t, req_id);
    F(gw_req_t, timeout_us); F(gw_req_t, events); F(gw_req_t, flags); F(gw_req_t, payload_len);
    F(gw_req_t, target); F(gw_req_t, reply); END(gw_req_t);
    printf(",\"REP\":{");
    F(gw_rep_t, magic); F(gw_rep_t, version); F(gw_rep_t, op); F(gw_rep_t, req_id);
    F(gw_rep_t, status); F(gw_rep_t, events); F(gw_rep_t, value); END(gw_rep_t);
    printf(",\"SYNC\":{");
    F(gw_sync_t, sop); F(gw_sync_t, pad); F(gw_sync_t, caller); F(gw_sync_t, arg0); F(gw_sync_t, arg1);
    END(gw_sync_t);
    printf(",\"MEM\":{");
    F(gw_mem_t, mop); F(gw_mem_t, pad); F(gw_mem_t, caller); F(gw_mem_t, offset); F(gw_mem_t, length);
    END(gw_mem_t);
    printf(",\"GwOp\":{");
    C("SEND", GW_SEND); C("RECV", GW_RECV); C("POLL", GW_POLL); C("COUNT", GW_COUNT); C("SYNC", GW_SYNC);
    printf("\"MEM\":%d}", GW_MEM);
    printf(",\"SyncOp\":{");
    C("LOCK_ACQUIRE", SOP_LOCK_ACQUIRE); C("LOCK_RELEASE", SOP_LOCK_RELEASE); C("LOCK_OWNER", SOP_LOCK_OWNER);
    C("SEM_ACQUIRE", SOP_SEM_ACQUIRE); C("SEM_RELEASE", SOP_SEM_RELEASE); C("SEM_VALUE", SOP_SEM_VALUE);
    C("EVENT_SET", SOP_EVENT_SET); C("EVENT_CLEAR", SOP_EVENT_CLEAR); C("EVENT_IS_SET", SOP_EVENT_IS_SET);
    C("EVENT_WAIT", SOP_EVENT_WAIT); C("BARRIER_WAIT", SOP_BARRIER_WAIT); C("BARRIER_ABORT", SOP_BARRIER_ABORT);
    C("BARRIER_RESET", SOP_BARRIER_RESET); C("BARRIER_STATE", SOP_BARRIER_STATE); C("CANCEL", SOP_CANCEL);
    C("COND_WAIT", SOP_COND_WAIT); C("COND_NOTIFY", SOP_COND_NOTIFY); C("COND_NOTIFY_ALL", SOP_COND_NOTIFY_ALL);
    printf("\"COND_LOCK\":%d}", SOP_COND_LOCK);
    printf(",\"MemOp\":{");
    C("READ", MOP_READ); C("WRITE", MOP_WRITE); C("CAS64", MOP_CAS64);
    printf("\"ADD64\":%d}}\n", MOP_ADD64);
    return 0;
}
