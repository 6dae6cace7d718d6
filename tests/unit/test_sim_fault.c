/* Unit tests of the simulator's --fault SPEC parsing and the once-only bookkeeping. */
#include "testutil.h"

#include <string.h>

#include "sim/sim_fault.c"

static void test_parse_valid_specs(void **state)
{
	(void)state;
	struct sim_fault f;
	err_t e = {0};
	assert_int_equal(sim_fault_parse("drop:3", &f, &e), 0);
	assert_int_equal(f.kind, SIM_FAULT_DROP);
	assert_int_equal(f.n, 3);
	assert_int_equal(sim_fault_parse("corrupt:0x10", &f, &e), 0);
	assert_int_equal(f.kind, SIM_FAULT_CORRUPT);
	assert_int_equal(f.n, 16);
	assert_int_equal(sim_fault_parse("disconnect-after:4096", &f, &e), 0);
	assert_int_equal(f.kind, SIM_FAULT_DISCONNECT_AFTER);
	assert_int_equal(f.n, 4096);
	assert_int_equal(sim_fault_parse("reset-after:100", &f, &e), 0);
	assert_int_equal(f.kind, SIM_FAULT_RESET_AFTER);
	assert_int_equal(sim_fault_parse("stall:500", &f, &e), 0);
	assert_int_equal(f.kind, SIM_FAULT_STALL);
	assert_int_equal(f.ms, 500);
	assert_false(f.at_given);
	assert_int_equal(sim_fault_parse("stall:250@12", &f, &e), 0);
	assert_int_equal(f.ms, 250);
	assert_int_equal(f.n, 12);
	assert_true(f.at_given);
}

static void test_parse_rejects_bad_specs(void **state)
{
	(void)state;
	struct sim_fault f;
	static const struct {
		const char *spec, *needle;
	} bad[] = {
		{"drop", "KIND:VALUE"},
		{"explode:1", "unknown fault kind 'explode'"},
		{"drop:", "missing number"},
		{"drop:abc", "'abc' is not a number"},
		{"drop:0", "numbered from 1"},
		{"reset-after:0", "at least 1"},
		{"drop:-1", "missing number"},
		{"stall:0", "1..600000"},
		{"stall:700000", "1..600000"},
		{"stall:5@0", "numbered from 1"},
		{"corrupt:12x", "not a number"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_t e = {0};
		assert_int_equal(sim_fault_parse(bad[i].spec, &f, &e), -1);
		assert_int_equal(e.code, ERR_USAGE);
		if (!strstr(e.msg, bad[i].needle))
			fail_msg("%s: message '%s' lacks '%s'", bad[i].spec, e.msg, bad[i].needle);
	}
}

static void test_frame_faults_fire_once(void **state)
{
	(void)state;
	sim_faults_t fs;
	memset(&fs, 0, sizeof(fs));
	err_t e = {0};
	assert_int_equal(sim_fault_add(&fs, "drop:2", &e), 0);
	assert_int_equal(sim_fault_add(&fs, "corrupt:2", &e), 0);
	assert_null(sim_fault_take_frame(&fs, SIM_FAULT_DROP, 1));
	assert_non_null(sim_fault_take_frame(&fs, SIM_FAULT_DROP, 2));
	assert_null(sim_fault_take_frame(&fs, SIM_FAULT_DROP, 2));
	assert_non_null(sim_fault_take_frame(&fs, SIM_FAULT_CORRUPT, 2));
}

static void test_byte_faults_split_input(void **state)
{
	(void)state;
	sim_faults_t fs;
	memset(&fs, 0, sizeof(fs));
	err_t e = {0};
	assert_int_equal(sim_fault_add(&fs, "reset-after:100", &e), 0);
	/* 60 received so far, 100 more arrive: only 40 may be processed before the reset. */
	assert_int_equal(sim_fault_bytes_before(&fs, SIM_FAULT_RESET_AFTER, 60, 100), 40);
	assert_int_equal(sim_fault_bytes_before(&fs, SIM_FAULT_DISCONNECT_AFTER, 60, 100), 100);
	assert_false(sim_fault_take_bytes(&fs, SIM_FAULT_RESET_AFTER, 99));
	assert_true(sim_fault_take_bytes(&fs, SIM_FAULT_RESET_AFTER, 100));
	assert_false(sim_fault_take_bytes(&fs, SIM_FAULT_RESET_AFTER, 200));
	assert_int_equal(sim_fault_bytes_before(&fs, SIM_FAULT_RESET_AFTER, 100, 50), 50);
}

static void test_stall_targets(void **state)
{
	(void)state;
	sim_faults_t fs;
	memset(&fs, 0, sizeof(fs));
	err_t e = {0};
	assert_int_equal(sim_fault_add(&fs, "stall:300", &e), 0);
	assert_int_equal(sim_fault_add(&fs, "stall:20@5", &e), 0);
	assert_int_equal(sim_fault_take_stall(&fs, 1, false), 0);
	assert_int_equal(sim_fault_take_stall(&fs, 5, false), 20);
	assert_int_equal(sim_fault_take_stall(&fs, 9, true), 300);
	assert_int_equal(sim_fault_take_stall(&fs, 10, true), 0);
	for (int i = 0; i < SIM_FAULT_MAX - 2; i++)
		assert_int_equal(sim_fault_add(&fs, "drop:1", &e), 0);
	assert_int_equal(sim_fault_add(&fs, "drop:1", &e), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid_specs),
		cmocka_unit_test(test_parse_rejects_bad_specs),
		cmocka_unit_test(test_frame_faults_fire_once),
		cmocka_unit_test(test_byte_faults_split_input),
		cmocka_unit_test(test_stall_targets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
