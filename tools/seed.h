/*
 * seed - `mandictl seed`: a made-up but realistic catalog (merchants,
 * categories, stores, products) for development and benchmarks.
 */
#ifndef MANDI_SEED_H
#define MANDI_SEED_H

/* Runs the command on the arguments that follow "seed". Returns the exit
 * status: 0 seeded (or removed), 1 failed or refused, 2 bad usage. */
int seed_command(int argc, char **argv);

#endif
