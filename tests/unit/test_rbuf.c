/* rbuf/wbuf: every primitive, and the contract that a failed read consumes
 * nothing (style guide #1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ctl/ctl_frame.h"
#include "wire/rbuf.h"

static const uint8_t bytes[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};

static void
test_reads_in_network_order(void **state)
{
	struct rbuf rb;
	uint8_t a;
	uint16_t b;
	uint32_t c;

	(void)state;
	rbuf_init(&rb, bytes, sizeof(bytes));
	assert_true(ips_ok(rbuf_u8(&rb, &a)));
	assert_true(ips_ok(rbuf_u16(&rb, &b)));
	assert_true(ips_ok(rbuf_u32(&rb, &c)));
	assert_int_equal(a, 0x01);
	assert_int_equal(b, 0x0203);
	assert_int_equal(c, 0x04050607);
	assert_int_equal(rbuf_left(&rb), 0);
}

/* Each primitive asked for one byte more than is left: nothing moves. */
static void
test_overread_by_one_consumes_nothing(void **state)
{
	struct rbuf rb, child;
	uint8_t u8 = 0xaa, out[8];
	uint16_t u16 = 0xaaaa;
	uint32_t u32 = 0xaaaaaaaa;
	const uint8_t *view = NULL;

	(void)state;
	rbuf_init(&rb, bytes, 3);
	assert_true(ips_ok(rbuf_skip(&rb, 2)));
	assert_int_equal(rbuf_u16(&rb, &u16).err, IPS_E_SHORT);
	assert_int_equal(u16, 0xaaaa);
	assert_int_equal(rbuf_u32(&rb, &u32).err, IPS_E_SHORT);
	assert_int_equal(u32, 0xaaaaaaaa);
	assert_int_equal(rbuf_bytes(&rb, out, 2).err, IPS_E_SHORT);
	assert_int_equal(rbuf_view(&rb, 2, &view).err, IPS_E_SHORT);
	assert_null(view);
	assert_int_equal(rbuf_skip(&rb, 2).err, IPS_E_SHORT);
	assert_int_equal(rbuf_sub(&rb, 2, &child).err, IPS_E_SHORT);
	assert_int_equal(rb.off, 2);
	assert_true(ips_ok(rbuf_u8(&rb, &u8)));
	assert_int_equal(u8, 0x03);
	assert_int_equal(rbuf_u8(&rb, &u8).err, IPS_E_SHORT);
	assert_int_equal(u8, 0x03);
	assert_int_equal(rb.off, 3);
}

static void
test_sub_is_a_bounded_view(void **state)
{
	struct rbuf rb, child;
	uint32_t v;
	uint16_t w;

	(void)state;
	rbuf_init(&rb, bytes, sizeof(bytes));
	assert_true(ips_ok(rbuf_sub(&rb, 3, &child)));
	assert_int_equal(rbuf_left(&rb), 4);
	assert_int_equal(rbuf_u32(&child, &v).err, IPS_E_SHORT);
	assert_true(ips_ok(rbuf_u16(&child, &w)));
	assert_int_equal(w, 0x0102);
	assert_int_equal(rbuf_left(&child), 1);
}

static void
test_wbuf_writes_and_caps(void **state)
{
	struct wbuf wb;

	(void)state;
	wbuf_init(&wb, 8);
	assert_true(ips_ok(wbuf_u8(&wb, 0x11)));
	assert_true(ips_ok(wbuf_u16(&wb, 0x2233)));
	assert_true(ips_ok(wbuf_u32(&wb, 0x44556677)));
	assert_int_equal(wb.len, 7);
	/* Two more bytes would pass the cap: refused, buffer unchanged. */
	assert_int_equal(wbuf_u16(&wb, 0x8899).err, IPS_E_TOOBIG);
	assert_int_equal(wb.len, 7);
	assert_true(ips_ok(wbuf_u8(&wb, 0x88)));
	assert_int_equal(wbuf_u8(&wb, 0x99).err, IPS_E_TOOBIG);
	assert_true(ips_ok(wbuf_put_u32_at(&wb, 1, 0xdeadbeef)));
	assert_int_equal(wbuf_put_u32_at(&wb, 5, 0).err, IPS_E_INVAL);
	{
		const uint8_t want[] = {
		    0x11, 0xde, 0xad, 0xbe, 0xef, 0x66, 0x77, 0x88};

		assert_memory_equal(wb.p, want, sizeof(want));
	}
	wbuf_free(&wb);
	assert_null(wb.p);
	wbuf_free(&wb); /* twice is harmless */
}

static void
test_frame_parse(void **state)
{
	const uint8_t two[] = {
	    0, 0, 0, 2, 'h', 'i', 0, 0, 0, 0, 0, 0, 0, 5, 'x'};
	const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff};
	struct rbuf rb, payload;

	(void)state;
	rbuf_init(&rb, two, sizeof(two));
	assert_true(ips_ok(ctl_frame_parse(&rb, &payload)));
	assert_int_equal(payload.len, 2);
	assert_memory_equal(payload.p, "hi", 2);
	/* An empty frame is a frame. */
	assert_true(ips_ok(ctl_frame_parse(&rb, &payload)));
	assert_int_equal(payload.len, 0);
	/* Incomplete: nothing consumed, so more bytes can complete it. */
	assert_int_equal(ctl_frame_parse(&rb, &payload).err, IPS_E_SHORT);
	assert_int_equal(rb.off, 10);
	/* Over the limit: refused before waiting for the body. */
	rbuf_init(&rb, huge, sizeof(huge));
	assert_int_equal(ctl_frame_parse(&rb, &payload).err, IPS_E_TOOBIG);
	assert_int_equal(rb.off, 0);
}

static void
test_frame_write_roundtrip(void **state)
{
	struct wbuf wb;
	struct rbuf rb, payload;

	(void)state;
	wbuf_init(&wb, 64);
	assert_true(ips_ok(ctl_frame_write(&wb, "abc", 3)));
	assert_true(ips_ok(ctl_frame_write(&wb, "", 0)));
	/* Does not fit: all or nothing. */
	assert_int_equal(ctl_frame_write(&wb, bytes, 60).err, IPS_E_TOOBIG);
	assert_int_equal(wb.len, 11);
	rbuf_init(&rb, wb.p, wb.len);
	assert_true(ips_ok(ctl_frame_parse(&rb, &payload)));
	assert_memory_equal(payload.p, "abc", 3);
	assert_true(ips_ok(ctl_frame_parse(&rb, &payload)));
	assert_int_equal(payload.len, 0);
	assert_int_equal(rbuf_left(&rb), 0);
	wbuf_free(&wb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reads_in_network_order),
	    cmocka_unit_test(test_overread_by_one_consumes_nothing),
	    cmocka_unit_test(test_sub_is_a_bounded_view),
	    cmocka_unit_test(test_wbuf_writes_and_caps),
	    cmocka_unit_test(test_frame_parse),
	    cmocka_unit_test(test_frame_write_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
