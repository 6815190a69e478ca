/*
 * seed - `mandictl seed`: fills the database with a made-up but realistic
 * catalog for development and benchmarks.
 *
 *   mandictl seed [--products N] [--categories N] [--stores N] [--merchants N]
 *                 [--reset | --remove]
 *
 * Every row is generated inside PostgreSQL by INSERT ... SELECT over
 * generate_series: the word lists below travel once, as text[] parameters,
 * and each row picks from them by index. 100,000 products are one statement
 * and one round trip instead of 100,000, which is what makes the command
 * fast. Nothing is ever formatted into SQL text.
 *
 * Seeded rows carry markers, so that they can be found again and nothing
 * else is touched:
 *   merchants   email seed-merchant-N@seed.mandi.invalid and phone
 *               +91 600 NNNNNNN (a block reserved for them)
 *   categories  slug seed-...
 *   stores      owned by a seeded merchant
 *   products    SKU SEED-NNNNNNN (and whatever sits in a seeded store)
 *
 * A second run refuses (exit 1) while seeded rows exist: adding a second
 * catalog beside the first would only double the data under the same
 * markers. --reset deletes the seeded rows first; --remove only deletes.
 * Everything happens in one transaction, under an advisory lock so that two
 * seeds cannot interleave: a failure leaves the database as it was. After
 * the commit the catalog's Redis cache is told (seed_bump_cache).
 */
#include "seed.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "catalog_cache.h"
#include "clock.h"
#include "config.h"
#include "db.h"
#include "redis_conn.h"

#define PROG "mandictl"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

/* Markers of seeded rows, as SQL conditions on the usual aliases. */
#define SEEDED_USER     "u.email LIKE 'seed-merchant-%@seed.mandi.invalid'"
#define SEEDED_CATEGORY "c.slug LIKE 'seed-%'"
#define SEEDED_STORE    "s.owner_id IN (SELECT u.id FROM users u WHERE " SEEDED_USER ")"
#define SEEDED_PRODUCT                                                                             \
    "(p.sku LIKE 'SEED-%' OR p.store_id IN (SELECT s.id FROM stores s WHERE " SEEDED_STORE "))"

#define MAX_PRODUCTS 10000000L
#define MAX_OTHERS   100000L /* categories, stores, merchants */
#define MAX_ROOTS    25

typedef struct {
    long products, categories, stores, merchants;
    int reset;  /* delete the seeded rows, then seed */
    int remove; /* only delete the seeded rows */
} seed_opts_t;

/* ---- word lists ------------------------------------------------------------ */

/* How a product comes in several variants; prices scale with the quantity
 * for some (1 kg costs more than 250 g), not for others (sizes, colours). */
enum { V_WEIGHT, V_VOLUME, V_PACK, V_SIZE, V_COLOUR, V_STORAGE, V_COUNT };

static const struct {
    const char *labels[3];
    int scales;
} variant_sets[V_COUNT] = {
    [V_WEIGHT] = {{"250 g", "500 g", "1 kg"}, 1},
    [V_VOLUME] = {{"200 ml", "500 ml", "1 l"}, 1},
    [V_PACK] = {{"Pack of 1", "Pack of 2", "Pack of 4"}, 1},
    [V_SIZE] = {{"S", "M", "L"}, 0},
    [V_COLOUR] = {{"Black", "White", "Blue"}, 0},
    [V_STORAGE] = {{"64 GB", "128 GB", "256 GB"}, 1},
};

#define NOUNS 8

/* The root categories: each names what its products are and the range of
 * their prices (rupees), so that a phone does not cost what a banana does. */
static const struct {
    const char *name;
    const char *nouns[NOUNS];
    int variant;
    int price_lo, price_hi;
} roots[MAX_ROOTS] = {
    {"Fruits & Vegetables",
     {"Apples", "Bananas", "Mangoes", "Tomatoes", "Onions", "Potatoes", "Spinach", "Carrots"},
     V_WEIGHT,
     20,
     400},
    {"Dairy & Eggs",
     {"Milk", "Curd", "Paneer", "Butter", "Cheese", "Ghee", "Eggs", "Buttermilk"},
     V_PACK,
     25,
     900},
    {"Bakery",
     {"Bread", "Buns", "Rusk", "Cookies", "Cake", "Muffins", "Croissants", "Pav"},
     V_PACK,
     20,
     600},
    {"Staples",
     {"Basmati Rice", "Atta", "Toor Dal", "Moong Dal", "Sugar", "Salt", "Poha", "Besan"},
     V_WEIGHT,
     40,
     1500},
    {"Oils & Masalas",
     {"Mustard Oil", "Sunflower Oil", "Turmeric Powder", "Garam Masala", "Chilli Powder",
      "Cumin Seeds", "Coriander Powder", "Hing"},
     V_WEIGHT,
     30,
     2500},
    {"Snacks",
     {"Namkeen", "Chips", "Bhujia", "Khakhra", "Makhana", "Peanuts", "Nachos", "Popcorn"},
     V_WEIGHT,
     10,
     500},
    {"Beverages",
     {"Tea", "Coffee", "Green Tea", "Fruit Juice", "Soft Drink", "Coconut Water", "Energy Drink",
      "Lassi"},
     V_VOLUME,
     20,
     1200},
    {"Sweets",
     {"Rasgulla", "Gulab Jamun", "Kaju Katli", "Soan Papdi", "Ladoo", "Barfi", "Peda", "Chikki"},
     V_WEIGHT,
     50,
     1500},
    {"Frozen Food",
     {"Green Peas", "Paratha", "Samosa", "Ice Cream", "Nuggets", "French Fries", "Momos", "Kulfi"},
     V_PACK,
     40,
     800},
    {"Meat & Fish",
     {"Chicken Curry Cut", "Mutton", "Rohu Fish", "Prawns", "Chicken Breast", "Pomfret", "Keema",
      "Seer Fish"},
     V_WEIGHT,
     150,
     1800},
    {"Personal Care",
     {"Shampoo", "Soap", "Toothpaste", "Face Wash", "Hair Oil", "Body Lotion", "Deodorant",
      "Sunscreen"},
     V_VOLUME,
     40,
     900},
    {"Beauty",
     {"Lipstick", "Kajal", "Face Cream", "Nail Polish", "Compact", "Serum", "Face Mask", "Perfume"},
     V_COLOUR,
     99,
     3000},
    {"Health & Wellness",
     {"Chyawanprash", "Protein Powder", "Multivitamin", "Honey", "Pain Relief Balm",
      "Hand Sanitiser", "Herbal Tea", "Thermometer"},
     V_PACK,
     60,
     3500},
    {"Baby Care",
     {"Diapers", "Baby Wipes", "Baby Lotion", "Baby Food", "Feeding Bottle", "Baby Soap",
      "Rash Cream", "Baby Oil"},
     V_PACK,
     80,
     2500},
    {"Household",
     {"Detergent", "Dishwash Gel", "Floor Cleaner", "Toilet Cleaner", "Garbage Bags", "Scrub Pad",
      "Air Freshener", "Mosquito Repellent"},
     V_PACK,
     30,
     900},
    {"Home & Kitchen",
     {"Pressure Cooker", "Kadai", "Tawa", "Water Bottle", "Lunch Box", "Mixer Grinder", "Knife Set",
      "Storage Jar"},
     V_COLOUR,
     150,
     6000},
    {"Furniture",
     {"Study Table", "Bookshelf", "Office Chair", "Bean Bag", "Shoe Rack", "Bedside Table",
      "Plastic Chair", "Wardrobe"},
     V_COLOUR,
     999,
     35000},
    {"Electronics",
     {"Headphones", "Bluetooth Speaker", "Power Bank", "Smartwatch", "LED Bulb", "Extension Board",
      "Trimmer", "Charger"},
     V_COLOUR,
     199,
     15000},
    {"Mobiles & Tablets",
     {"Smartphone", "Tablet", "Feature Phone", "Phone Case", "Screen Guard", "USB Cable", "Earbuds",
      "Memory Card"},
     V_STORAGE,
     149,
     60000},
    {"Fashion",
     {"Kurta", "Saree", "T-Shirt", "Jeans", "Shirt", "Dupatta", "Leggings", "Jacket"},
     V_SIZE,
     199,
     4999},
    {"Footwear",
     {"Sneakers", "Sandals", "Chappals", "Formal Shoes", "Kolhapuris", "Running Shoes", "Slippers",
      "Loafers"},
     V_SIZE,
     199,
     4999},
    {"Books & Stationery",
     {"Notebook", "Novel", "Gel Pens", "Colour Pencils", "Atlas", "Cookbook", "Diary",
      "Geometry Box"},
     V_PACK,
     20,
     900},
    {"Toys & Games",
     {"Building Blocks", "Board Game", "Jigsaw Puzzle", "Soft Toy", "Toy Car", "Cricket Set",
      "Doll", "Kite"},
     V_COLOUR,
     99,
     3500},
    {"Sports & Fitness",
     {"Cricket Bat", "Football", "Yoga Mat", "Dumbbells", "Badminton Racket", "Skipping Rope",
      "Bicycle", "Shuttlecocks"},
     V_COLOUR,
     99,
     15000},
    {"Pet Supplies",
     {"Dog Food", "Cat Food", "Pet Shampoo", "Chew Toy", "Pet Bed", "Collar", "Bird Seed",
      "Cat Litter"},
     V_WEIGHT,
     99,
     3000},
};

/* Child categories are "<qualifier> <noun of their root>"; the first
 * qualifier is empty, so the first children are plain "Paneer", "Tablet". */
static const char *const qualifiers[] = {
    "",         "Premium", "Everyday", "Budget",       "Bestselling",
    "Imported", "Local",   "Festive",  "Eco-friendly", "Trending",
};

static const char *const adjectives[] = {
    "Classic",  "Premium", "Everyday", "Signature", "Select", "Essential", "Deluxe",
    "Original", "Special", "Prime",    "Royal",     "Smart",  "Super",     "Gold",
    "Ultra",    "Pro",     "Lite",     "Value",     "Elite",  "Star",
};

/* Made-up brands. */
static const char *const brands[] = {
    "Desi Farms",   "Kaveri",      "Sahyadri",    "Nilgiri",    "Himgiri",
    "Ganga Valley", "Swadeshi Co", "Urban Tokri", "Green Leaf", "Royal Harvest",
    "Tara",         "Bharat Best", "Lotus",       "Anand",      "Shree Ram",
    "Mysore Gold",  "Kesar",       "Triveni",     "Zestly",     "Apna",
};

static const char *const sentences[] = {
    "Sourced from trusted suppliers and checked for quality before dispatch.",
    "A favourite in Indian homes for everyday use.",
    "Packed hygienically and delivered to your door.",
    "Great value for families and bulk buyers.",
    "Made with care and built to last.",
    "Easy returns within 7 days if you are not satisfied.",
    "A thoughtful gift for friends and family at festival time.",
    "Compact and easy to store.",
    "Rated highly by customers in your city.",
    "Part of our bestselling range this season.",
    "Carefully packed so that it reaches you undamaged.",
    "See the label for usage and care instructions.",
};

static const char *const first_names[] = {
    "Ramesh",    "Suresh", "Priya",  "Anita",    "Vikram",   "Lakshmi", "Arjun",
    "Kavya",     "Imran",  "Fatima", "Harpreet", "Gurpreet", "Rahul",   "Sneha",
    "Venkatesh", "Deepa",  "Amit",   "Pooja",    "Sanjay",   "Meera",
};

static const char *const surnames[] = {
    "Sharma",  "Iyer",     "Reddy",     "Patel",  "Khan",   "Singh", "Nair",
    "Gupta",   "Das",      "Mukherjee", "Rao",    "Menon",  "Joshi", "Kulkarni",
    "Agarwal", "Banerjee", "Pillai",    "Shetty", "Chopra", "Verma",
};

static const char *const store_kinds[] = {
    "Kirana Store", "Supermart",      "Fresh Mart",  "Traders", "Emporium",
    "Bazaar",       "General Stores", "Daily Needs", "Retail",  "Enterprises",
};

static const char *const streets[] = {
    "MG Road",     "Main Road",    "1st Cross Road", "Station Road", "Temple Street",
    "Market Road", "Nehru Street", "100 Feet Road",  "Ring Road",    "Gandhi Bazaar Road",
};

/* Delivery zones of a few cities; stores sit within about 2 km of the
 * zone's centre. Store g goes to zone (g - 1) % zones + 1, and the cities
 * take turns in this list, so that even a few stores cover several. */
static const struct {
    const char *zone, *city, *area, *pincode;
    double lat, lon;
} zones[] = {
    {"blr-east", "Bengaluru", "Indiranagar", "560038", 12.9784, 77.6408},
    {"mum-west", "Mumbai", "Andheri West", "400058", 19.1364, 72.8296},
    {"del-south", "Delhi", "Saket", "110017", 28.5245, 77.2066},
    {"hyd-west", "Hyderabad", "Gachibowli", "500032", 17.4401, 78.3489},
    {"chn-south", "Chennai", "Adyar", "600020", 13.0012, 80.2565},
    {"pun-west", "Pune", "Kothrud", "411038", 18.5074, 73.8077},
    {"kol-south", "Kolkata", "Ballygunge", "700019", 22.5280, 88.3650},
    {"blr-south", "Bengaluru", "Jayanagar", "560041", 12.9250, 77.5938},
    {"mum-south", "Mumbai", "Colaba", "400005", 18.9067, 72.8147},
    {"del-central", "Delhi", "Connaught Place", "110001", 28.6315, 77.2167},
    {"hyd-central", "Hyderabad", "Banjara Hills", "500034", 17.4156, 78.4347},
    {"chn-central", "Chennai", "T. Nagar", "600017", 13.0418, 80.2341},
    {"pun-east", "Pune", "Viman Nagar", "411014", 18.5679, 73.9143},
    {"kol-east", "Kolkata", "Salt Lake", "700091", 22.5726, 88.4339},
    {"blr-north", "Bengaluru", "Hebbal", "560024", 13.0358, 77.5970},
    {"mum-central", "Mumbai", "Dadar", "400014", 19.0178, 72.8478},
    {"del-west", "Delhi", "Rajouri Garden", "110027", 28.6415, 77.1209},
    {"hyd-north", "Hyderabad", "Kukatpally", "500072", 17.4948, 78.3996},
    {"chn-west", "Chennai", "Anna Nagar", "600040", 13.0850, 80.2101},
    {"blr-west", "Bengaluru", "Rajajinagar", "560010", 12.9910, 77.5520},
    {"mum-east", "Mumbai", "Chembur", "400071", 19.0522, 72.9005},
    {"del-east", "Delhi", "Laxmi Nagar", "110092", 28.6304, 77.2777},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- array parameters ---------------------------------------------------------- */

/* PostgreSQL array literals, built element by element: '{', then items
 * (nested arrays too), then '}'. A separator goes before any item that does
 * not open its array. */
static void lit_sep(buf_t *b)
{
    if (b->len && b->data[b->len - 1] != '{')
        buf_append_char(b, ',');
}

static void lit_open(buf_t *b)
{
    lit_sep(b);
    buf_append_char(b, '{');
}

static void lit_close(buf_t *b)
{
    buf_append_char(b, '}');
}

/* A quoted element: inside quotes only '"' and '\' need a backslash. */
static void lit_text(buf_t *b, const char *s)
{
    lit_sep(b);
    buf_append_char(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            buf_append_char(b, '\\');
        buf_append_char(b, *s);
    }
    buf_append_char(b, '"');
}

static void lit_long(buf_t *b, long v)
{
    lit_sep(b);
    buf_printf(b, "%ld", v);
}

static void lit_double(buf_t *b, double v)
{
    lit_sep(b);
    buf_printf(b, "%.6f", v);
}

static void lit_words(buf_t *b, const char *const *words, size_t n)
{
    lit_open(b);
    for (size_t i = 0; i < n; i++)
        lit_text(b, words[i]);
    lit_close(b);
}

/* ---- arguments ------------------------------------------------------------------- */

static const char seed_usage_text[] =
    "usage: mandictl seed [--products N] [--categories N] [--stores N] [--merchants N]\n"
    "                     [--reset | --remove]\n";

static int seed_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int seed_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(PROG " seed: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n", stderr);
    fputs(seed_usage_text, stderr);
    return EXIT_USAGE;
}

/* A whole number in [min, max], digits only (no sign, no spaces). */
static int parse_count(const char *text, long min, long max, long *out)
{
    if (!*text || strlen(text) > 9)
        return -1;
    long v = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int seed_parse_args(int argc, char **argv, seed_opts_t *o)
{
    static const struct {
        const char *name;
        size_t offset;
        long min, max;
    } counts[] = {
        {"--products", offsetof(seed_opts_t, products), 0, MAX_PRODUCTS},
        {"--categories", offsetof(seed_opts_t, categories), 1, MAX_OTHERS},
        {"--stores", offsetof(seed_opts_t, stores), 1, MAX_OTHERS},
        {"--merchants", offsetof(seed_opts_t, merchants), 1, MAX_OTHERS},
    };
    int counted = 0;
    *o = (seed_opts_t){.products = 100000, .categories = 500, .stores = 200, .merchants = 50};
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--reset") == 0) {
            o->reset = 1;
            continue;
        }
        if (strcmp(arg, "--remove") == 0) {
            o->remove = 1;
            continue;
        }
        size_t k = 0;
        while (k < COUNT(counts) && strcmp(arg, counts[k].name) != 0)
            k++;
        if (k == COUNT(counts))
            return seed_usage_error("unknown argument %s", arg);
        if (i + 1 >= argc)
            return seed_usage_error("%s needs a value", arg);
        const char *value = argv[++i];
        long *field = (long *)((char *)o + counts[k].offset);
        if (parse_count(value, counts[k].min, counts[k].max, field) < 0)
            return seed_usage_error("%s must be a whole number from %ld to %ld, not '%s'", arg,
                                    counts[k].min, counts[k].max, value);
        counted = 1;
    }
    if (o->reset && o->remove)
        return seed_usage_error("--reset and --remove do not go together");
    if (o->remove && counted)
        return seed_usage_error("--remove only deletes; it takes no counts");
    return 0;
}

/* ---- statements ------------------------------------------------------------------- */

/* Runs one statement. Returns its result, or NULL after saying on stderr
 * what failed and why. */
static PGresult *seed_exec(PGconn *conn, const char *what, const char *sql, int n,
                           const char *const *params)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    fprintf(stderr, PROG " seed: %s failed: %s", what, PQresultErrorMessage(res));
    PQclear(res);
    return NULL;
}

/* seed_exec for statements whose row count is all that matters: the
 * number of rows, or -1. */
static long seed_run(PGconn *conn, const char *what, const char *sql, int n,
                     const char *const *params)
{
    PGresult *res = seed_exec(conn, what, sql, n, params);
    if (!res)
        return -1;
    long rows = atol(PQcmdTuples(res));
    PQclear(res);
    return rows;
}

static const char sql_count[] = "SELECT (SELECT count(*) FROM users u WHERE " SEEDED_USER "), "
                                "(SELECT count(*) FROM categories c WHERE " SEEDED_CATEGORY "), "
                                "(SELECT count(*) FROM stores s WHERE " SEEDED_STORE "), "
                                "(SELECT count(*) FROM products p WHERE " SEEDED_PRODUCT ")";

/* What --reset and --remove delete, in an order the foreign keys allow.
 * Rows that only hang off seeded ones go too: the stock history,
 * favourites and back-in-stock requests of seeded products, and the
 * sessions, addresses, KYC, favourites and requests of seeded merchants
 * (their phones take OTPs like any other, so a developer may have signed in
 * as one). Rows made outside the seed that still point at seeded ones (a
 * product of another store in a seeded category, a listing of a seeded
 * merchant) make a delete fail, and the whole command with it. The products
 * statement returns the ids, whose cached details are then out of date. */
#define OF_SEEDED_PRODUCTS(t, a)                                                                   \
    "DELETE FROM " t " " a " USING products p WHERE " a ".product_id = p.id AND " SEEDED_PRODUCT
#define OF_SEEDED_USERS(t, a)                                                                      \
    "DELETE FROM " t " " a " USING users u WHERE " a ".user_id = u.id AND " SEEDED_USER

static const struct {
    const char *what;
    int reported; /* counted in the summary line */
    const char *sql;
} removals[] = {
    {"products' stock history", 0, OF_SEEDED_PRODUCTS("stock_history", "x")},
    {"products' favourites", 0, OF_SEEDED_PRODUCTS("favorites", "x")},
    {"products' back-in-stock requests", 0, OF_SEEDED_PRODUCTS("notify_requests", "x")},
    {"products", 1, "DELETE FROM products p WHERE " SEEDED_PRODUCT " RETURNING p.id"},
    {"stores", 1, "DELETE FROM stores s WHERE " SEEDED_STORE},
    {"categories", 1, "DELETE FROM categories c WHERE " SEEDED_CATEGORY},
    {"merchants' refresh tokens", 0,
     "DELETE FROM refresh_tokens WHERE family_id IN (SELECT f.id FROM token_families f "
     "JOIN users u ON u.id = f.user_id WHERE " SEEDED_USER ")"},
    {"merchants' sessions", 0, OF_SEEDED_USERS("token_families", "x")},
    {"merchants' password resets", 0, OF_SEEDED_USERS("password_resets", "x")},
    {"merchants' addresses", 0, OF_SEEDED_USERS("addresses", "x")},
    {"merchants' KYC submissions", 0, OF_SEEDED_USERS("kyc_submissions", "x")},
    {"merchants' favourites", 0, OF_SEEDED_USERS("favorites", "x")},
    {"merchants' back-in-stock requests", 0, OF_SEEDED_USERS("notify_requests", "x")},
    {"merchants", 1, "DELETE FROM users u WHERE " SEEDED_USER},
};

/* $1 count, $2 first names, $3 surnames. Phones are +91 600 and the
 * merchant's number; names pair first names and surnames so that the first
 * 400 differ. */
static const char sql_merchants[] =
    "INSERT INTO users (phone, email, name, role, status, kyc_status, created_at) "
    "SELECT '+91600' || lpad(g::text, 7, '0'), "
    "'seed-merchant-' || g || '@seed.mandi.invalid', "
    "f[1 + (g - 1) % cardinality(f)] || ' ' || "
    "l[1 + ((g - 1) + (g - 1) / cardinality(f)) % cardinality(l)], "
    "'MERCHANT', 'active', 'approved', now() - random() * interval '720 days' "
    "FROM generate_series(1, $1::int) g, CAST($2 AS text[]) f, CAST($3 AS text[]) l";

/* The slug of the name n: lower case, runs of anything else made one '-'. */
#define SLUG_OF_N "trim(both '-' from regexp_replace(lower(n), '[^a-z0-9]+', '-', 'g'))"

/* $1 count, $2 names. Slugs end in the category's number: unique. */
static const char sql_roots[] =
    "INSERT INTO categories (name, slug, description, image_url, sort_order) "
    "SELECT n, 'seed-' || " SLUG_OF_N " || '-' || g, "
    "'Everything in ' || n || ', from stores near you.', "
    "'https://cdn.mandi.example/seed/categories/' || g || '.jpg', g "
    "FROM unnest($2::text[]) WITH ORDINALITY AS x(n, g) WHERE g <= $1::int";

/* $1 children, $2 roots, $3 nouns[root][k], $4 qualifiers. Child g goes
 * under root (g - 1) % roots + 1 as its k-th child, named from the k-th noun
 * and qualifier; sort_order is k + 1, from which the products' statement
 * finds the noun again. */
static const char sql_children[] =
    "WITH r AS (SELECT array_agg(c.id ORDER BY c.sort_order) AS ids FROM categories c "
    "           WHERE " SEEDED_CATEGORY " AND c.parent_id IS NULL), "
    "k AS (SELECT g, (g - 1) % $2::int + 1 AS root, (g - 1) / $2::int AS nth "
    "      FROM generate_series(1, $1::int) g), "
    "named AS (SELECT k.*, ltrim(q[1 + (nth / array_length(w, 2)) % cardinality(q)] || ' ' || "
    "                            w[root][1 + nth % array_length(w, 2)]) AS n "
    "          FROM k, CAST($3 AS text[]) w, CAST($4 AS text[]) q) "
    "INSERT INTO categories (parent_id, name, slug, description, image_url, sort_order) "
    "SELECT r.ids[root], n, 'seed-' || " SLUG_OF_N " || '-' || ($2::int + g), "
    "'Shop ' || lower(n) || ' from local stores.', "
    "'https://cdn.mandi.example/seed/categories/' || ($2::int + g) || '.jpg', nth + 1 "
    "FROM named, r";

/* $1 count, $2 zones, $3 cities, $4 areas, $5 pincodes, $6 latitudes,
 * $7 longitudes, $8 surnames, $9 kinds of store, $10 streets. Store g is
 * owned by merchant (g - 1) % merchants + 1, lies in zone (g - 1) % zones
 * + 1 and is listed under root category (g - 1) % roots + 1, whose
 * products it sells. */
static const char sql_stores[] =
    "WITH m AS (SELECT array_agg(u.id ORDER BY u.phone) AS ids FROM users u WHERE " SEEDED_USER
    "), "
    "c AS (SELECT array_agg(c.id ORDER BY c.sort_order) AS ids, "
    "      array_agg(c.name ORDER BY c.sort_order) AS names FROM categories c "
    "      WHERE " SEEDED_CATEGORY " AND c.parent_id IS NULL), "
    "r AS MATERIALIZED (SELECT g, (g - 1) % cardinality($2::text[]) + 1 AS z, random() AS a, "
    "      random() AS b, random() AS d, random() AS e, random() AS h, random() AS i, "
    "      random() AS j, 6 + floor(random() * 4)::int AS opens, "
    "      20 + floor(random() * 4)::int AS closes "
    "      FROM generate_series(1, $1::int) g) "
    "INSERT INTO stores (owner_id, name, description, category_id, city, zone, address, "
    "                    latitude, longitude, delivery_radius_km, min_order_paise, cashback_bps, "
    "                    hours, created_at) "
    "SELECT m.ids[(g - 1) % cardinality(m.ids) + 1], "
    "($8::text[])[1 + floor(a * cardinality($8::text[]))::int] || ' ' || "
    "($9::text[])[1 + floor(b * cardinality($9::text[]))::int], "
    "c.names[(g - 1) % cardinality(c.ids) + 1] || ' and more, delivered across ' || "
    "($4::text[])[z] || ', ' || ($3::text[])[z] || '.', "
    "c.ids[(g - 1) % cardinality(c.ids) + 1], ($3::text[])[z], ($2::text[])[z], "
    "(1 + floor(i * 250))::int || ', ' || "
    "($10::text[])[1 + floor(j * cardinality($10::text[]))::int] || ', ' || "
    "($4::text[])[z] || ', ' || ($3::text[])[z] || ' ' || ($5::text[])[z], "
    "round((($6::float8[])[z] + (d - 0.5) * 0.04)::numeric, 6), "
    "round((($7::float8[])[z] + (e - 0.5) * 0.04)::numeric, 6), "
    "2 + floor(h * 9)::int, (ARRAY[0, 9900, 14900, 19900, 49900])[1 + floor(i * 5)::int], "
    "(ARRAY[0, 0, 100, 200, 300, 500])[1 + floor(j * 6)::int], "
    "(SELECT jsonb_object_agg(day, jsonb_build_object('open', lpad(opens::text, 2, '0') || ':00', "
    "                                                 'close', closes || ':00')) "
    " FROM unnest(ARRAY['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']) day), "
    "now() - h * interval '540 days' "
    "FROM r, m, c";

/* $1 count, $2 adjectives, $3 brands, $4 nouns[root][k], $5 lowest and $6
 * highest price of each root (rupees), $7 variant set of each root (1-based),
 * $8 variant labels[set][k], $9 whether a set's prices scale, $10 sentences.
 *
 * Products go to leaf categories (a root without children is one) and to a
 * store listed under their root category (any store when there is none).
 * The random draws are made once per row in a materialised CTE, so that
 * every expression built on them (selling price from original price, tags
 * from the name) sees the same values. */
static const char sql_products[] =
    "WITH s AS (SELECT array_agg(s.id ORDER BY s.id) AS ids FROM stores s WHERE " SEEDED_STORE "), "
    "sr AS (SELECT c.sort_order AS root, array_agg(s.id ORDER BY s.id) AS ids "
    "       FROM stores s JOIN categories c ON c.id = s.category_id "
    "       WHERE " SEEDED_STORE " GROUP BY c.sort_order), "
    "leaf AS (SELECT array_agg(c.id ORDER BY c.slug) AS ids, "
    "         array_agg(coalesce(p.sort_order, c.sort_order) ORDER BY c.slug) AS root, "
    "         array_agg(CASE WHEN p.id IS NULL THEN 0 "
    "                   ELSE (c.sort_order - 1) % array_length($4::text[], 2) + 1 END "
    "                   ORDER BY c.slug) AS noun "
    "         FROM categories c LEFT JOIN categories p ON p.id = c.parent_id "
    "         WHERE " SEEDED_CATEGORY
    "         AND NOT EXISTS (SELECT 1 FROM categories x WHERE x.parent_id = c.id)), "
    "r AS MATERIALIZED ("
    "  SELECT g, 1 + floor(random() * cardinality(leaf.ids))::int AS ci, "
    "  random() AS r_store, "
    "  random() AS r_adj, random() AS r_brand, random() AS r_noun, random() AS r_price, "
    "  random() AS r_disc, random() AS r_stock, random() AS r_thr, random() AS r_img, "
    "  random() AS r_var, random() AS r_spec, random() AS r_rated, random() AS r_count, "
    "  random() AS r_avg, random() AS r_text, random() AS r_tag, random() AS r_age "
    "  FROM generate_series(1, $1::int) g, leaf), "
    "a AS (SELECT r.*, leaf.ids[ci] AS category_id, leaf.root[ci] AS root, "
    "      CASE leaf.noun[ci] WHEN 0 THEN 1 + floor(r_noun * array_length($4::text[], 2))::int "
    "      ELSE leaf.noun[ci] END AS ni, "
    "      'SEED-' || lpad(g::text, 7, '0') AS sku, "
    "      ($2::text[])[1 + floor(r_adj * cardinality($2::text[]))::int] AS adjective, "
    "      ($3::text[])[1 + floor(r_brand * cardinality($3::text[]))::int] AS brand, "
    "      CASE WHEN r_disc < 0.35 THEN 0 "
    "      ELSE 5 + 5 * least(9, floor((r_disc - 0.35) / 0.65 * 10)::int) END AS discount, "
    "      5 + floor(r_thr * 6)::int AS threshold, "
    "      CASE WHEN r_rated < 0.2 THEN 0 ELSE floor(exp(r_count * ln(2500)))::int END AS rated "
    "      FROM r, leaf), "
    "b AS (SELECT a.*, ($4::text[])[a.root][ni] AS noun, "
    "      (coalesce(sr.ids, s.ids))[1 + floor(r_store * "
    "                                cardinality(coalesce(sr.ids, s.ids)))::int] AS store_id, "
    "      (ceil(exp(ln(($5::int[])[a.root]) + r_price * (ln(($6::int[])[a.root]) - "
    "            ln(($5::int[])[a.root]))) / 10) * 10 - 1)::bigint * 100 AS original, "
    "      ($7::int[])[a.root] AS vset, "
    "      CASE WHEN r_stock < 0.08 THEN 0 "
    "      WHEN r_stock < 0.20 "
    "      THEN least(threshold - 1, 1 + floor((r_stock - 0.08) / 0.12 * (threshold - 1))::int) "
    "      ELSE 10 + floor((r_stock - 0.20) / 0.80 * 490)::int END AS stock "
    "      FROM a LEFT JOIN sr ON sr.root = a.root, s), "
    "v AS (SELECT b.*, brand || ' ' || adjective || ' ' || noun AS name, "
    "      original * (100 - discount) / 10000 * 100 AS selling, "
    "      'https://cdn.mandi.example/seed/products/' || lower(sku) AS img "
    "      FROM b) "
    "INSERT INTO products (store_id, category_id, name, description, sku, tags, "
    "                      original_price_paise, selling_price_paise, stock, low_stock_threshold, "
    "                      images, variants, specifications, rating_avg, rating_count, "
    "                      created_at, updated_at) "
    "SELECT store_id, category_id, name, "
    "name || ' by ' || brand || '. ' || "
    "($10::text[])[1 + floor(r_text * cardinality($10::text[]))::int] || ' ' || "
    "($10::text[])[1 + (floor(r_text * cardinality($10::text[]) * cardinality($10::text[]))::int "
    "                   + 1) % cardinality($10::text[])], "
    "sku, "
    "ARRAY[lower(noun), lower(adjective), lower(brand)] "
    "|| CASE WHEN discount > 0 THEN ARRAY['offer'] ELSE ARRAY[]::text[] END "
    "|| CASE WHEN r_tag < 0.1 THEN ARRAY['bestseller'] WHEN r_tag < 0.2 THEN ARRAY['new'] "
    "   ELSE ARRAY[]::text[] END, "
    "original, selling, stock, threshold, "
    "to_jsonb((ARRAY[img || '-1.jpg', img || '-2.jpg', img || '-3.jpg', img || '-4.jpg'])"
    "         [1:1 + floor(r_img * 4)::int]), "
    "CASE WHEN r_var < 0.3 THEN "
    "  (SELECT jsonb_agg(jsonb_build_object("
    "     'name', ($8::text[])[vset][k], 'sku', sku || '-' || k, "
    "     'price_paise', CASE WHEN ($9::int[])[vset] = 1 "
    "                    THEN selling * (ARRAY[10, 18, 34])[k] / 1000 * 100 ELSE selling END, "
    "     'stock', stock / k) ORDER BY k) "
    "   FROM generate_series(1, array_length($8::text[], 2)) k) "
    "ELSE '[]'::jsonb END, "
    "CASE WHEN r_spec < 0.7 THEN jsonb_build_object('brand', brand, 'country_of_origin', 'India', "
    "  'model_number', upper(left(regexp_replace(brand, '[^A-Za-z]', '', 'g'), 3)) || '-' || "
    "                  (1000 + g % 9000)) "
    "ELSE '{}'::jsonb END, "
    "CASE WHEN rated = 0 THEN 0 ELSE round((3 + r_avg * 2)::numeric, 1) END, rated, "
    "now() - r_age * interval '365 days', now() - r_age * interval '365 days' "
    "FROM v";

/* ---- the command ------------------------------------------------------------------- */

/* The word lists as array literals, built once per run. */
enum {
    L_ADJECTIVES,
    L_BRANDS,
    L_NOUNS,
    L_PRICE_LO,
    L_PRICE_HI,
    L_VARIANT_OF,
    L_VARIANT_LABELS,
    L_VARIANT_SCALES,
    L_SENTENCES,
    L_ROOT_NAMES,
    L_QUALIFIERS,
    L_FIRST_NAMES,
    L_SURNAMES,
    L_ZONES,
    L_CITIES,
    L_AREAS,
    L_PINCODES,
    L_LATS,
    L_LONS,
    L_STORE_KINDS,
    L_STREETS,
    L_COUNT
};

static void lists_build(buf_t l[L_COUNT])
{
    for (int i = 0; i < L_COUNT; i++)
        l[i] = (buf_t)BUF_INIT;
    lit_words(&l[L_ADJECTIVES], adjectives, COUNT(adjectives));
    lit_words(&l[L_BRANDS], brands, COUNT(brands));
    lit_words(&l[L_SENTENCES], sentences, COUNT(sentences));
    lit_words(&l[L_QUALIFIERS], qualifiers, COUNT(qualifiers));
    lit_words(&l[L_FIRST_NAMES], first_names, COUNT(first_names));
    lit_words(&l[L_SURNAMES], surnames, COUNT(surnames));
    lit_words(&l[L_STORE_KINDS], store_kinds, COUNT(store_kinds));
    lit_words(&l[L_STREETS], streets, COUNT(streets));

    static const int per_root[] = {L_ROOT_NAMES, L_NOUNS, L_PRICE_LO, L_PRICE_HI, L_VARIANT_OF};
    for (size_t i = 0; i < COUNT(per_root); i++)
        lit_open(&l[per_root[i]]);
    for (size_t i = 0; i < COUNT(roots); i++) {
        lit_text(&l[L_ROOT_NAMES], roots[i].name);
        lit_words(&l[L_NOUNS], roots[i].nouns, NOUNS);
        lit_long(&l[L_PRICE_LO], roots[i].price_lo);
        lit_long(&l[L_PRICE_HI], roots[i].price_hi);
        lit_long(&l[L_VARIANT_OF], roots[i].variant + 1);
    }
    for (size_t i = 0; i < COUNT(per_root); i++)
        lit_close(&l[per_root[i]]);

    lit_open(&l[L_VARIANT_LABELS]);
    lit_open(&l[L_VARIANT_SCALES]);
    for (size_t i = 0; i < COUNT(variant_sets); i++) {
        lit_words(&l[L_VARIANT_LABELS], variant_sets[i].labels, COUNT(variant_sets[i].labels));
        lit_long(&l[L_VARIANT_SCALES], variant_sets[i].scales);
    }
    lit_close(&l[L_VARIANT_LABELS]);
    lit_close(&l[L_VARIANT_SCALES]);

    static const int per_zone[] = {L_ZONES, L_CITIES, L_AREAS, L_PINCODES, L_LATS, L_LONS};
    for (size_t i = 0; i < COUNT(per_zone); i++)
        lit_open(&l[per_zone[i]]);
    for (size_t i = 0; i < COUNT(zones); i++) {
        lit_text(&l[L_ZONES], zones[i].zone);
        lit_text(&l[L_CITIES], zones[i].city);
        lit_text(&l[L_AREAS], zones[i].area);
        lit_text(&l[L_PINCODES], zones[i].pincode);
        lit_double(&l[L_LATS], zones[i].lat);
        lit_double(&l[L_LONS], zones[i].lon);
    }
    for (size_t i = 0; i < COUNT(per_zone); i++)
        lit_close(&l[per_zone[i]]);
}

static void lists_free(buf_t l[L_COUNT])
{
    for (int i = 0; i < L_COUNT; i++)
        buf_free(&l[i]);
}

static double seconds_since(int64_t start_ms)
{
    return (double)(clock_mono_ms() - start_ms) / 1000.0;
}

/* Cities that the first n zones (the ones stores go to) cover. */
static int cities_covered(long n)
{
    int count = 0;
    for (size_t i = 0; i < COUNT(zones) && (long)i < n; i++) {
        size_t j = 0;
        while (j < i && strcmp(zones[j].city, zones[i].city) != 0)
            j++;
        count += j == i;
    }
    return count;
}

/* Deletes the seeded rows and appends what went to out. *deleted gets the
 * ids of the deleted products (the caller clears it). Returns 0 or -1. */
static int seed_remove(PGconn *conn, buf_t *out, PGresult **deleted)
{
    int64_t start = clock_mono_ms();
    buf_append_str(out, "removed");
    const char *sep = " ";
    for (size_t i = 0; i < COUNT(removals); i++) {
        char what[96];
        snprintf(what, sizeof what, "removing the seeded %s", removals[i].what);
        PGresult *res = seed_exec(conn, what, removals[i].sql, 0, NULL);
        if (!res)
            return -1;
        long rows = atol(PQcmdTuples(res));
        if (PQresultStatus(res) == PGRES_TUPLES_OK && !*deleted)
            *deleted = res;
        else
            PQclear(res);
        if (removals[i].reported) {
            buf_printf(out, "%s%ld %s", sep, rows, removals[i].what);
            sep = ", ";
        }
    }
    buf_printf(out, " (%.2f s)\n", seconds_since(start));
    return 0;
}

/* The catalog pool caches product lists and details in Redis under version
 * counters that its writers bump after they commit (catalog_cache.h). The
 * seed writes behind its back, so it bumps them too: every product list,
 * and the detail of each deleted product. Without that, lists read before
 * the seed would be served without its products, and deleted products
 * would still be shown, until their entries expire. A Redis that cannot be
 * reached is worth a warning only: the database is right, and the entries
 * expire after CACHE_TTL_S. */
static void seed_bump_cache(PGresult *deleted)
{
    redisContext *redis = redis_open(config_get("REDIS_URL"), 2000);
    int n = deleted ? PQntuples(deleted) : 0;
    int failed = !redis;
    if (redis) {
        redisAppendCommand(redis, "INCR %s", CACHE_PRODUCTS);
        for (int i = 0; i < n; i++)
            redisAppendCommand(redis, "INCR %s%s", CACHE_PRODUCT_PREFIX, PQgetvalue(deleted, i, 0));
        for (int i = 0; i <= n; i++) {
            void *reply = NULL;
            if (redisGetReply(redis, &reply) != REDIS_OK) {
                failed = 1;
                break;
            }
            if (((redisReply *)reply)->type == REDIS_REPLY_ERROR)
                failed = 1;
            freeReplyObject(reply);
        }
        redisFree(redis);
    }
    if (failed)
        fprintf(stderr,
                PROG " seed: warning: could not refresh the catalog's cache in Redis (REDIS_URL);"
                     " cached product pages may be out of date for up to %d s\n",
                CACHE_TTL_S);
}

/* Refuses while seeded rows exist. Returns 0 when there are none, 1 when
 * there are (said on stderr), -1 on error. */
static int seed_check_empty(PGconn *conn)
{
    PGresult *res = seed_exec(conn, "looking for seeded rows", sql_count, 0, NULL);
    if (!res)
        return -1;
    long n[4];
    long total = 0;
    for (int i = 0; i < 4; i++)
        total += n[i] = atol(PQgetvalue(res, 0, i));
    PQclear(res);
    if (total == 0)
        return 0;
    fprintf(stderr,
            PROG " seed: the database already holds seeded rows (%ld merchants, %ld categories, "
                 "%ld stores, %ld products); nothing was added. Use --reset to replace them or "
                 "--remove to delete them.\n",
            n[0], n[1], n[2], n[3]);
    return 1;
}

/* Inserts everything; appends a line per kind of row to out. Returns 0 or
 * -1. */
static int seed_insert(PGconn *conn, const seed_opts_t *o, buf_t *out)
{
    buf_t l[L_COUNT];
    lists_build(l);
    long n_roots = o->categories < MAX_ROOTS ? o->categories : MAX_ROOTS;
    long n_children = o->categories - n_roots;
    char merchants[24], n_roots_s[24], children[24], stores[24], products[24];
    snprintf(merchants, sizeof merchants, "%ld", o->merchants);
    snprintf(n_roots_s, sizeof n_roots_s, "%ld", n_roots);
    snprintf(children, sizeof children, "%ld", n_children);
    snprintf(stores, sizeof stores, "%ld", o->stores);
    snprintf(products, sizeof products, "%ld", o->products);
    int rc = -1;
    long rows;
    int64_t t;

    t = clock_mono_ms();
    const char *mp[] = {merchants, l[L_FIRST_NAMES].data, l[L_SURNAMES].data};
    if ((rows = seed_run(conn, "adding merchants", sql_merchants, 3, mp)) < 0)
        goto done;
    buf_printf(out, "  %-10s %8ld %7.2f s  phones +916000000001 to +91600%07ld\n", "merchants",
               rows, seconds_since(t), o->merchants);

    t = clock_mono_ms();
    const char *rp[] = {n_roots_s, l[L_ROOT_NAMES].data};
    const char *cp[] = {children, n_roots_s, l[L_NOUNS].data, l[L_QUALIFIERS].data};
    long made_roots, made_children = 0;
    if ((made_roots = seed_run(conn, "adding root categories", sql_roots, 2, rp)) < 0 ||
        (n_children > 0 &&
         (made_children = seed_run(conn, "adding child categories", sql_children, 4, cp)) < 0))
        goto done;
    buf_printf(out, "  %-10s %8ld %7.2f s  %ld roots, %ld children\n", "categories",
               made_roots + made_children, seconds_since(t), made_roots, made_children);

    t = clock_mono_ms();
    const char *sp[] = {stores,           l[L_ZONES].data,    l[L_CITIES].data,
                        l[L_AREAS].data,  l[L_PINCODES].data, l[L_LATS].data,
                        l[L_LONS].data,   l[L_SURNAMES].data, l[L_STORE_KINDS].data,
                        l[L_STREETS].data};
    if ((rows = seed_run(conn, "adding stores", sql_stores, 10, sp)) < 0)
        goto done;
    long zones_used = o->stores < (long)COUNT(zones) ? o->stores : (long)COUNT(zones);
    buf_printf(out, "  %-10s %8ld %7.2f s  in %d cities, %ld zones\n", "stores", rows,
               seconds_since(t), cities_covered(zones_used), zones_used);

    t = clock_mono_ms();
    const char *pp[] = {products,
                        l[L_ADJECTIVES].data,
                        l[L_BRANDS].data,
                        l[L_NOUNS].data,
                        l[L_PRICE_LO].data,
                        l[L_PRICE_HI].data,
                        l[L_VARIANT_OF].data,
                        l[L_VARIANT_LABELS].data,
                        l[L_VARIANT_SCALES].data,
                        l[L_SENTENCES].data};
    if (o->products > 0 && (rows = seed_run(conn, "adding products", sql_products, 10, pp)) < 0)
        goto done;
    if (o->products == 0)
        buf_printf(out, "  %-10s %8d\n", "products", 0);
    else
        buf_printf(out, "  %-10s %8ld %7.2f s  SKUs SEED-0000001 to SEED-%07ld\n", "products", rows,
                   seconds_since(t), o->products);
    rc = 0;
done:
    lists_free(l);
    return rc;
}

int seed_command(int argc, char **argv)
{
    seed_opts_t o;
    int status = seed_parse_args(argc, argv, &o);
    if (status)
        return status;
    PGconn *conn = db_connect(config_get("DATABASE_URL"));
    if (!conn) {
        fprintf(stderr, PROG " seed: cannot connect to the database (DATABASE_URL)\n");
        return EXIT_FAILED;
    }
    int64_t start = clock_mono_ms();
    buf_t out = BUF_INIT;
    PGresult *deleted = NULL; /* ids of the products removed */
    status = EXIT_FAILED;
    /* The lock is the transaction's: it ends with COMMIT or ROLLBACK. */
    if (db_exec(conn, "BEGIN") < 0 ||
        seed_run(conn, "taking the seed lock",
                 "SELECT pg_advisory_xact_lock(hashtext('mandictl seed'))", 0, NULL) < 0)
        goto rollback;
    if ((o.reset || o.remove) && seed_remove(conn, &out, &deleted) < 0)
        goto rollback;
    if (!o.remove) {
        int seeded = seed_check_empty(conn);
        if (seeded != 0)
            goto rollback;
        buf_append_str(&out, "seeded:\n");
        if (seed_insert(conn, &o, &out) < 0)
            goto rollback;
    }
    if (db_exec(conn, "COMMIT") < 0) {
        fprintf(stderr, PROG " seed: COMMIT failed; nothing was changed\n");
        goto done;
    }
    double took = seconds_since(start);
    fputs(out.data, stdout);
    printf("committed in %.2f s\n", took);
    seed_bump_cache(deleted);
    if (!o.remove) {
        /* Fresh statistics, so that the planner knows the new rows before
         * autovacuum gets round to them (a benchmark may start at once). */
        int64_t t = clock_mono_ms();
        long ok = seed_run(conn, "analysing the catalog tables",
                           "ANALYZE users, categories, stores, products", 0, NULL);
        if (ok >= 0)
            printf("analysed the catalog tables in %.2f s\n", seconds_since(t));
    }
    status = EXIT_OK;
    goto done;
rollback:
    PQclear(PQexec(conn, "ROLLBACK"));
    fprintf(stderr, PROG " seed: nothing was changed\n");
done:
    PQclear(deleted);
    buf_free(&out);
    db_close(&conn);
    return status;
}
