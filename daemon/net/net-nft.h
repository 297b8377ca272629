/* hostd's nftables table: NAT from each network to the host's uplink, port forwards
 * from the host to instances (loopback included), and no traffic between networks.
 *
 * The whole table is rendered from the inventory and replaced in one nftables
 * transaction, so it is always either the old ruleset or the new one, and the
 * host's own tables are never touched. Links libnftables and hd_lib only. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hd-error.h"
#include "hd-spec.h"

typedef struct HdNftNetwork {
        const char *bridge;
        uint32_t subnet; /* host order, host bits zero */
        int prefix;
        bool nat; /* masquerade what leaves the host from this subnet */
} HdNftNetwork;

typedef struct HdNftForward {
        HdProto protocol;
        int host_port;
        uint32_t addr; /* the instance's, host order */
        int port;
        const char *bridge; /* the instance's network's bridge */
} HdNftForward;

/* The nft script that makes `table ip <table>` hold exactly these networks and
 * forwards, replacing whatever it held. NULL when out of memory. */
char *hd_nft_render(const char *table, const HdNftNetwork *nets, size_t n_nets,
                    const HdNftForward *fw, size_t n_fw);

/* Runs an nft script in one transaction (libnftables); the error carries nft's own
 * message. */
int hd_nft_apply(const char *script, HdError **err);

/* Deletes `table ip <table>`; 0 when there was none. */
int hd_nft_delete_table(const char *table, HdError **err);
