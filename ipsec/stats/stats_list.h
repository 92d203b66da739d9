/*
 * The IP Security Monitor statistics, in the order the snap-in shows them.
 * X(key, kind, "Display Name"): key is the field and the JSON name; kind is
 * COUNTER (monotonic since the last reset) or GAUGE (a current size, derived
 * from live engine state when a snapshot is taken).  The exact event behind
 * each one is on its stats_on_*() function in stats.h.
 */
#ifndef IPS_STATS_LIST_H
#define IPS_STATS_LIST_H

#define IPS_MM_STATS(X) \
	X(active_acquire, GAUGE, "Active Acquire") \
	X(active_receive, GAUGE, "Active Receive") \
	X(acquire_failures, COUNTER, "Acquire Failures") \
	X(receive_failures, COUNTER, "Receive Failures") \
	X(send_failures, COUNTER, "Send Failures") \
	X(acquire_heap_size, GAUGE, "Acquire Heap Size") \
	X(receive_heap_size, GAUGE, "Receive Heap Size") \
	X(authentication_failures, COUNTER, "Authentication Failures") \
	X(negotiation_failures, COUNTER, "Negotiation Failures") \
	X(invalid_cookies_received, COUNTER, "Invalid Cookies Received") \
	X(total_acquire, COUNTER, "Total Acquire") \
	X(total_get_spi, COUNTER, "Total Get SPI") \
	X(key_additions, COUNTER, "Key Additions") \
	X(key_updates, COUNTER, "Key Updates") \
	X(get_spi_failures, COUNTER, "Get SPI Failures") \
	X(key_addition_failures, COUNTER, "Key Addition Failures") \
	X(key_update_failures, COUNTER, "Key Update Failures") \
	X(isadb_list_size, GAUGE, "ISADB List Size") \
	X(connection_list_size, GAUGE, "Connection List Size") \
	X(ike_main_mode, COUNTER, "IKE Main Mode") \
	X(ike_quick_mode, COUNTER, "IKE Quick Mode") \
	X(soft_associations, COUNTER, "Soft Associations") \
	X(invalid_packets_received, COUNTER, "Invalid Packets Received")

#define IPS_QM_STATS(X) \
	X(active_sas, GAUGE, "Active Security Associations") \
	X(offloaded_sas, GAUGE, "Offloaded Security Associations") \
	X(pending_key_operations, GAUGE, "Pending Key Operations") \
	X(key_additions, COUNTER, "Key Additions") \
	X(key_deletions, COUNTER, "Key Deletions") \
	X(rekeys, COUNTER, "Rekeys") \
	X(active_tunnels, GAUGE, "Active Tunnels") \
	X(bad_spi_packets, COUNTER, "Bad SPI Packets") \
	X(packets_not_decrypted, COUNTER, "Packets Not Decrypted") \
	X(packets_not_authenticated, COUNTER, "Packets Not Authenticated") \
	X(packets_with_replay_detection, COUNTER, \
	    "Packets With Replay Detection") \
	X(confidential_bytes_sent, COUNTER, "Confidential Bytes Sent") \
	X(confidential_bytes_received, COUNTER, "Confidential Bytes Received") \
	X(authenticated_bytes_sent, COUNTER, "Authenticated Bytes Sent") \
	X(authenticated_bytes_received, COUNTER, \
	    "Authenticated Bytes Received") \
	X(transport_bytes_sent, COUNTER, "Transport Bytes Sent") \
	X(transport_bytes_received, COUNTER, "Transport Bytes Received") \
	X(bytes_sent_in_tunnels, COUNTER, "Bytes Sent In Tunnels") \
	X(bytes_received_in_tunnels, COUNTER, "Bytes Received In Tunnels") \
	X(offloaded_bytes_sent, COUNTER, "Offloaded Bytes Sent") \
	X(offloaded_bytes_received, COUNTER, "Offloaded Bytes Received")

#endif
