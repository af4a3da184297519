/** Relative weights of TAOBench's write operation types. */
export interface TaobenchWriteTypes {
  readonly objAdd: number;
  readonly objUpdate: number;
  readonly objDelete: number;
  readonly edgeAdd: number;
  readonly edgeUpdate: number;
  readonly edgeDelete: number;
}

/** A TAOBench workload configuration, in the fields of its JSON file (see below). */
export interface TaobenchParams {
  readonly source: string;
  readonly requests: {
    readonly read: number;
    readonly write: number;
    readonly readTxn: number;
    readonly writeTxn: number;
  };
  readonly readOperationTypes: {
    readonly objRead: number;
    readonly edgePointRead: number;
    readonly edgeRangeRead: number;
    readonly edgeCountRead: number;
    readonly edgeTimeRead: number;
  };
  readonly writeOperationTypes: TaobenchWriteTypes;
  readonly readTxnOperationTypes: { readonly objRead: number; readonly edgePointRead: number };
  readonly writeTxnOperationTypes: TaobenchWriteTypes;
  readonly readTxnSizes: readonly number[];
  readonly writeTxnSizes: readonly number[];
  readonly primaryShards: readonly number[];
  readonly shards: number;
  readonly valueBytes: number;
}

/**
 * The TAOBench workload O ("the overall TAO workload", read-heavy), as published in
 * audreyccheng/taobench at commit a122cfd (2022-09-05), `src/workload_o.json`. The file was
 * `src/workload_2.json` until commit ebe1f5e renamed it, unchanged. Each field below names the
 * JSON line (`"name"`) it was copied from; `src/workload.cc` (TraceGeneratorWorkload) and
 * `src/constants.h` say how the driver uses them. Weights are relative, as in the files
 * (the driver feeds them to std::discrete_distribution).
 */
export const TAOBENCH_WORKLOAD_O: TaobenchParams = {
  source: 'audreyccheng/taobench src/workload_o.json (formerly src/workload_2.json)',
  /**
   * "operations": one request is a single read, a single write, a read transaction or a
   * write transaction, in this order (the switch in TraceGeneratorWorkload::DispatchRequest).
   */
  requests: { read: 8387, write: 19, readTxn: 242, writeTxn: 1 },
  /**
   * "read_operation_types" (obj_read, edge_point_read, edge_range_read, edge_count_read,
   * edge_time_read).
   */
  readOperationTypes: {
    objRead: 479,
    edgePointRead: 475,
    edgeRangeRead: 0,
    edgeCountRead: 0,
    edgeTimeRead: 0,
  },
  /**
   * "write_operation_types" (obj_add, obj_update, obj_delete, edge_add, edge_update,
   * edge_delete).
   */
  writeOperationTypes: {
    objAdd: 219,
    objUpdate: 75,
    objDelete: 0,
    edgeAdd: 1,
    edgeUpdate: 321,
    edgeDelete: 0,
  },
  /** "read_txn_operation_types": the operations inside a read transaction. */
  readTxnOperationTypes: { objRead: 1, edgePointRead: 5 },
  /** "write_txn_operation_types": the operations inside a write transaction. */
  writeTxnOperationTypes: {
    objAdd: 219,
    objUpdate: 75,
    objDelete: 0,
    edgeAdd: 1,
    edgeUpdate: 321,
    edgeDelete: 0,
  },
  /** "read_txn_sizes": weights[i] is that of a transaction of i + 1 reads ("values": 1..500). */
  readTxnSizes: [
    0, 553162, 311751, 166458, 106694, 80485, 62975, 53430, 33268, 27819, 36732, 21447, 18031,
    15122, 14191, 12506, 10894, 10053, 9326, 8482, 7752, 7189, 6773, 6265, 5995, 5982, 5503, 5473,
    4896, 5001, 9323, 4619, 4773, 4323, 3927, 4634, 4598, 4356, 3803, 3888, 3814, 3544, 3498, 3422,
    3373, 3057, 3038, 3220, 3100, 2961, 2824, 2687, 2780, 2796, 2831, 2622, 2576, 2336, 2090, 2160,
    2074, 2062, 2054, 2075, 1980, 2231, 2105, 2052, 2006, 2088, 1846, 1871, 1925, 1766, 1649, 1751,
    1651, 2337, 1736, 1602, 1527, 1504, 1447, 1493, 1336, 1438, 1332, 1503, 1310, 1397, 1372, 1497,
    1370, 1376, 1406, 1535, 1605, 1646, 1658, 1846, 1266, 1235, 1199, 1147, 1066, 1099, 1008, 1082,
    966, 1023, 847, 941, 1034, 857, 795, 662, 714, 719, 619, 606, 617, 617, 588, 576, 590, 612, 537,
    654, 664, 679, 539, 570, 519, 508, 562, 539, 476, 493, 510, 557, 531, 518, 522, 527, 518, 508,
    492, 537, 574, 497, 582, 558, 560, 488, 585, 521, 603, 556, 516, 578, 487, 523, 512, 495, 530,
    578, 554, 532, 576, 596, 520, 525, 508, 615, 548, 444, 592, 458, 561, 524, 569, 538, 519, 635,
    462, 921, 446, 472, 400, 407, 399, 445, 394, 547, 437, 442, 416, 406, 392, 332, 304, 265, 252,
    243, 259, 245, 246, 274, 190, 260, 271, 230, 206, 212, 213, 208, 209, 249, 214, 240, 214, 204,
    218, 205, 199, 205, 193, 173, 186, 170, 219, 168, 204, 191, 173, 170, 171, 222, 190, 172, 185,
    204, 172, 171, 204, 146, 167, 186, 140, 137, 151, 137, 122, 152, 139, 151, 102, 105, 128, 202,
    127, 125, 116, 121, 146, 110, 127, 80, 104, 120, 113, 117, 131, 131, 111, 100, 97, 110, 99, 123,
    84, 107, 134, 74, 79, 110, 105, 110, 63, 75, 106, 92, 89, 101, 95, 84, 88, 87, 80, 92, 101, 92,
    81, 83, 73, 61, 79, 114, 76, 70, 67, 110, 93, 81, 79, 70, 73, 86, 92, 78, 71, 83, 71, 71, 87,
    79, 88, 78, 102, 102, 90, 93, 68, 68, 72, 113, 88, 107, 79, 72, 58, 75, 57, 70, 48, 61, 48, 73,
    40, 63, 74, 61, 72, 58, 61, 62, 51, 48, 63, 49, 65, 39, 78, 70, 64, 54, 55, 59, 51, 61, 64, 56,
    44, 45, 76, 63, 62, 56, 65, 67, 63, 61, 57, 79, 92, 76, 81, 96, 71, 117, 96, 78, 59, 83, 53, 65,
    77, 44, 48, 56, 57, 50, 63, 57, 40, 62, 28, 61, 45, 63, 52, 27, 66, 53, 58, 59, 60, 56, 51, 78,
    47, 54, 50, 50, 27, 36, 57, 46, 62, 53, 38, 39, 46, 54, 51, 29, 30, 39, 37, 42, 52, 39, 42, 58,
    38, 36, 36, 95, 29, 45, 26, 48, 37, 29, 58, 50, 34, 38, 29, 42, 44, 32, 37, 28, 27, 31, 30, 47,
    34, 57, 40, 34, 52, 48, 23, 45, 22, 33, 38, 29, 37, 27, 27, 41, 40, 36, 40, 41, 53, 32, 39, 45,
    27, 70, 48, 41, 43, 18, 28, 44,
  ],
  /** "write_txn_sizes": weights[i] is that of a transaction of i + 1 writes ("values": 1..103). */
  writeTxnSizes: [
    0, 104440, 283626, 340601, 43853, 5878, 107888, 674, 862, 235, 409, 196, 409, 150, 332, 20, 288,
    12, 494, 10, 51871, 7, 17, 8, 15, 20160, 6, 0, 7, 3, 7, 1, 8, 3, 4, 1, 6, 0, 10, 0, 8, 1, 1, 0,
    1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,
    1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1,
  ],
  /**
   * "primary_shards": popularity of the 50 shards. The driver samples a shard with these
   * weights, then an edge uniformly within it (GetRandomEdge), for every read and update;
   * adds create their key in a shard drawn the same way (GetWriteOperation).
   */
  primaryShards: [
    94036, 36224, 3600, 612, 612, 612, 612, 612, 614, 612, 612, 612, 612, 612, 612, 612, 614, 612,
    612, 612, 612, 612, 612, 612, 612, 614, 612, 612, 612, 612, 612, 612, 612, 614, 612, 612, 612,
    612, 612, 612, 612, 614, 612, 612, 612, 612, 612, 612, 612, 600,
  ],
  /** `constants::NUM_SHARDS` in src/constants.h: "equally spaced key ranges". */
  shards: 50,
  /**
   * `constants::VALUE_SIZE_BYTES` in src/constants.h: every value the driver writes is exactly
   * this long (GetValue in src/workload.cc), matching the `VARCHAR(150)` schema in USAGE.md.
   * The workload files carry no value-size distribution.
   */
  valueBytes: 150,
};
