using System;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Simulation;
using Parquet;
using Parquet.Schema;
using Xunit;

namespace MLNetRank.Tests.Data
{
    public class ParquetTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "mlnetrank-parquet-" + Guid.NewGuid().ToString("N")[..8]);

        public ParquetTests() => Directory.CreateDirectory(_dir);

        public void Dispose() => Directory.Delete(_dir, recursive: true);

        private static LiveStreamSimulator Sim() =>
            new(new LiveStreamSimulatorOptions { Seed = 7, RequestCount = 300, UserCount = 100, LiveCount = 30, ItemCount = 200 });

        private static void AssertSameColumn<T>(IDataView a, IDataView b, string name)
        {
            var x = a.GetColumn<T>(name).ToArray();
            var y = b.GetColumn<T>(name).ToArray();
            Assert.Equal(x.Length, y.Length);
            for (int i = 0; i < x.Length; i++)
                Assert.True(Equals(x[i], y[i]), $"column {name}, row {i}: {x[i]} vs {y[i]}");
        }

        private static void AssertSameVectors<T>(IDataView a, IDataView b, string name)
        {
            var x = a.GetColumn<T[]>(name).ToArray();
            var y = b.GetColumn<T[]>(name).ToArray();
            Assert.Equal(x.Length, y.Length);
            for (int i = 0; i < x.Length; i++)
                Assert.True(x[i].SequenceEqual(y[i]), $"column {name}, row {i}: [{string.Join(",", x[i])}] vs [{string.Join(",", y[i])}]");
        }

        [Fact]
        public async System.Threading.Tasks.Task SimulatorImpressionsRoundTripThroughShardsWithManyRowGroups()
        {
            var ml = new MLContext(seed: 1);
            var sim = Sim();
            var first = sim.GetImpressions(ml, 0, 150);
            var second = sim.GetImpressions(ml, 150, 150);
            string a = Path.Combine(_dir, "part-0.parquet"), b = Path.Combine(_dir, "part-1.parquet");
            ml.Data.SaveAsParquet(first, a, rowGroupSize: 256);   // 1,500 rows: 6 row groups
            ml.Data.SaveAsParquet(second, b, rowGroupSize: 256);
            var reader = await ParquetReader.CreateAsync(a);
            Assert.Equal(6, reader.RowGroupCount);
            await reader.DisposeAsync();

            var loaded = ml.Data.LoadFromParquet(a, b);
            var original = sim.GetImpressions(ml, 0, 300);
            Assert.Equal(3000, loaded.GetRowCount());
            // the sequences (list columns, some of them empty) come back as variable-length vectors
            Assert.True(loaded.Schema["UserItemSeq"].Type is VectorDataViewType { Size: 0, ItemType: var t } && t == NumberDataViewType.UInt32);
            AssertSameColumn<uint>(original, loaded, "RequestId");
            AssertSameColumn<uint>(original, loaded, "UserId");
            AssertSameColumn<int>(original, loaded, "Position");
            AssertSameColumn<float>(original, loaded, "Time");
            AssertSameColumn<bool>(original, loaded, "Click");
            AssertSameColumn<float>(original, loaded, "StayTime");
            AssertSameVectors<float>(original, loaded, "StatFeatures");
            AssertSameVectors<uint>(original, loaded, "UserItemSeq");
            AssertSameVectors<uint>(original, loaded, "UserLiveSeq");
        }

        private sealed class SeqRow
        {
            [VectorType]
            public float[] Seq { get; set; } = Array.Empty<float>();
            public string Name { get; set; } = "";
            public long Id { get; set; }
        }

        [Fact]
        public void EmptyAndVariableLengthListsAndTextRoundTrip()
        {
            var ml = new MLContext(seed: 1);
            var rows = new[]
            {
                new SeqRow { Seq = new[] { 1f, 2f }, Name = "a", Id = 1 },
                new SeqRow { Seq = Array.Empty<float>(), Name = "", Id = 2 },
                new SeqRow { Seq = new[] { 3f, float.NaN, 5f }, Name = "ccc", Id = long.MaxValue },
                new SeqRow { Seq = Array.Empty<float>(), Name = "d", Id = -4 },
            };
            var data = ml.Data.LoadFromEnumerable(rows);
            var path = Path.Combine(_dir, "seq.parquet");
            ml.Data.SaveAsParquet(data, path, rowGroupSize: 3); // a row group boundary inside the data
            var loaded = ml.Data.LoadFromParquet(path);
            Assert.Equal(rows.Select(r => r.Seq), loaded.GetColumn<float[]>("Seq").ToArray());
            Assert.Equal(rows.Select(r => r.Name), loaded.GetColumn<ReadOnlyMemory<char>>("Name").Select(m => m.ToString()).ToArray());
            Assert.Equal(rows.Select(r => r.Id), loaded.GetColumn<long>("Id").ToArray());
        }

        [Fact]
        public void AModelTrainedOnTheParquetViewEqualsOneTrainedOnTheSource()
        {
            var ml = new MLContext(seed: 1);
            var source = Sim().GetImpressions(ml, 0, 200);
            var path = Path.Combine(_dir, "train.parquet");
            ml.Data.SaveAsParquet(source, path, rowGroupSize: 500);
            // a vector column read from Parquet has variable length: give the trainer the known size back
            var loaded = ml.Transforms.Concatenate("F", "StatFeatures").Fit(ml.Data.LoadFromParquet(path)).Transform(ml.Data.LoadFromParquet(path));
            int n = ImpressionColumns.StatFeatureCount;
            var fixedSize = ml.Data.LoadFromEnumerable(
                loaded.GetColumn<float[]>("StatFeatures").Zip(loaded.GetColumn<bool>("Click"), (f, c) => new Row { Features = f, Click = c }),
                SchemaDefinition.Create(typeof(Row)).Also(d => d["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, n)));
            var direct = ml.Data.LoadFromEnumerable(
                source.GetColumn<float[]>("StatFeatures").Zip(source.GetColumn<bool>("Click"), (f, c) => new Row { Features = f, Click = c }),
                SchemaDefinition.Create(typeof(Row)).Also(d => d["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, n)));
            var trainer = ml.BinaryClassification.Trainers.FastTree("Click", "Features", numberOfTrees: 10, numberOfLeaves: 8);
            var p1 = trainer.Fit(fixedSize).Transform(fixedSize).GetColumn<float>("Score").ToArray();
            var p2 = trainer.Fit(direct).Transform(direct).GetColumn<float>("Score").ToArray();
            Assert.Equal(p2, p1);
        }

        private sealed class Row
        {
            public float[] Features { get; set; } = Array.Empty<float>();
            public bool Click { get; set; }
        }

        private async System.Threading.Tasks.Task<string> WriteWithParquetNet(ParquetSchema schema, Func<ParquetRowGroupWriter, System.Threading.Tasks.Task> write)
        {
            var path = Path.Combine(_dir, Guid.NewGuid().ToString("N")[..8] + ".parquet");
            using var stream = File.Create(path);
            var writer = await ParquetWriter.CreateAsync(schema, stream);
            using (var rg = writer.CreateRowGroup())
                await write(rg);
            await writer.DisposeAsync();
            return path;
        }

        [Fact]
        public async System.Threading.Tasks.Task NullsAreNaNForFloatsEmptyForStringsAndAnErrorNamingTheColumnForIntegers()
        {
            var ml = new MLContext(seed: 1);
            var x = new DataField<float?>("X");
            var s = new DataField<string>("S");
            var n = new DataField<int?>("N");
            var path = await WriteWithParquetNet(new ParquetSchema(x, s, n), async rg =>
            {
                await rg.WriteAsync<float>(x, new float?[] { 1.5f, null, 3f });
                await rg.WriteAsync(s, new[] { "a", null!, "c" });
                await rg.WriteAsync<int>(n, new int?[] { 1, 2, null });
            });
            var view = ml.Data.LoadFromParquet(path);
            Assert.Equal(new[] { 1.5f, float.NaN, 3f }, view.GetColumn<float>("X").ToArray());
            Assert.Equal(new[] { "a", "", "c" }, view.GetColumn<ReadOnlyMemory<char>>("S").Select(m => m.ToString()).ToArray());
            var e = Assert.Throws<InvalidOperationException>(() => view.GetColumn<int>("N").ToArray());
            Assert.Contains("'N'", e.Message);
            Assert.Contains("row 2", e.Message);
        }

        [Fact]
        public async System.Threading.Tasks.Task AnUnsupportedColumnIsRefusedByNameAndTheOthersLoadWhenNamed()
        {
            var ml = new MLContext(seed: 1);
            var when = new DataField<DateTime>("When");
            var id = new DataField<long>("Id");
            var path = await WriteWithParquetNet(new ParquetSchema(when, id), async rg =>
            {
                await rg.WriteAsync<DateTime>(when, new[] { DateTime.UnixEpoch, DateTime.UnixEpoch });
                await rg.WriteAsync<long>(id, new[] { 5L, 6L });
            });
            var e = Assert.Throws<NotSupportedException>(() => ml.Data.LoadFromParquet(path));
            Assert.Contains("'When'", e.Message);
            var view = ml.Data.LoadFromParquet(new[] { path }, new[] { "Id" });
            Assert.Equal(new[] { 5L, 6L }, view.GetColumn<long>("Id").ToArray());
            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Data.LoadFromParquet(new[] { path }, new[] { "Nope" }));
        }

        [Fact]
        public async System.Threading.Tasks.Task ShardsWithDifferentSchemasAreRefused()
        {
            var ml = new MLContext(seed: 1);
            var a = new DataField<long>("Id");
            var b = new DataField<float>("Id");
            var p1 = await WriteWithParquetNet(new ParquetSchema(a), rg => rg.WriteAsync<long>(a, new[] { 1L }));
            var p2 = await WriteWithParquetNet(new ParquetSchema(b), rg => rg.WriteAsync<float>(b, new[] { 1f }));
            Assert.Throws<ArgumentException>(() => ml.Data.LoadFromParquet(p1, p2));
        }
    }

    internal static class ObjectExtensions
    {
        public static T Also<T>(this T value, Action<T> action)
        {
            action(value);
            return value;
        }
    }
}
