using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using MLNetRank.Data;

namespace Microsoft.ML
{
    /// <summary>
    /// Parquet in and out of ML.NET: <see cref="LoadFromParquet(DataOperationsCatalog, string[])"/> streams Parquet files (for
    /// instance the shards Spark or Hive write) as one <see cref="IDataView"/>, reading one row group of the columns a
    /// cursor asks for at a time, so data larger than memory trains; <see cref="SaveAsParquet(DataOperationsCatalog, IDataView, string, int)"/>
    /// writes any <see cref="IDataView"/> (the simulator's impressions, a scored view) as Parquet.
    /// </summary>
    /// <remarks>
    /// Built on Parquet.Net (fully managed, MIT): it runs wherever ML.NET runs, with no native library, and reads a row
    /// group's column into buffers the caller owns.
    /// <para>Column types (read): BOOLEAN, INT8..INT64, UINT8..UINT64, FLOAT, DOUBLE and UTF-8 strings become Boolean,
    /// SByte..Int64, Byte..UInt64, Single, Double and Text columns; a LIST of one of these becomes a variable-length vector
    /// (sequences such as a user's recent items). A null FLOAT/DOUBLE reads as NaN (ML.NET's missing value), a null string
    /// or list as empty; a null in any other column is an error naming the column and row. Other Parquet types (dates,
    /// decimals, structs, maps) are refused with the column named: load the other columns with <c>columns</c>.</para>
    /// <para>Writing: the same scalar types and vectors of them (as LIST columns); key columns are written as their
    /// UInt32 indices (1-based, 0 = missing), as ML.NET stores them.</para>
    /// </remarks>
    public static class ParquetCatalog
    {
        /// <summary>Default rows per row group written by <see cref="SaveAsParquet(DataOperationsCatalog, IDataView, string, int)"/>.</summary>
        public const int DefaultRowGroupSize = 65_536;

        /// <summary>
        /// Streams one or more Parquet files with the same schema (shards, read in the order given) as one
        /// <see cref="IDataView"/>. Only the footers are read here; rows are read by cursors, one row group at a time.
        /// </summary>
        /// <param name="catalog">The <see cref="MLContext.Data"/> catalog.</param>
        /// <param name="paths">The files (at least one).</param>
        /// <exception cref="ArgumentException">No path, or a file whose schema differs from the first file's.</exception>
        /// <exception cref="NotSupportedException">A column of a type listed as unsupported (its name and type are given).</exception>
        /// <example>Runnable: <c>tests/MLNetRank.Tests/Data/ParquetTests.cs</c> (<c>dotnet test</c>).</example>
        public static IDataView LoadFromParquet(this DataOperationsCatalog catalog, params string[] paths) =>
            LoadFromParquet(catalog, paths, columns: null);

        /// <summary>As <see cref="LoadFromParquet(DataOperationsCatalog, string[])"/>, loading only <paramref name="columns"/>
        /// (top-level column names, in the order given; null loads every column).</summary>
        /// <exception cref="ArgumentOutOfRangeException">A requested column is not in the files.</exception>
        /// <example>Runnable: <c>tests/MLNetRank.Tests/Data/ParquetTests.cs</c> (<c>dotnet test</c>).</example>
        public static IDataView LoadFromParquet(this DataOperationsCatalog catalog, IReadOnlyList<string> paths, IReadOnlyList<string>? columns)
        {
            if (catalog is null)
                throw new ArgumentNullException(nameof(catalog));
            if (paths is null || paths.Count == 0)
                throw new ArgumentException("At least one Parquet file is needed.", nameof(paths));
            foreach (var p in paths)
                if (!File.Exists(p))
                    throw new FileNotFoundException($"Parquet file '{p}' not found.", p);
            return new ParquetDataView(paths.ToArray(), columns);
        }

        /// <summary>Writes <paramref name="data"/> as a Parquet file (to a temporary file renamed into place, so a reader
        /// never sees a partial file), <paramref name="rowGroupSize"/> rows per row group. Hidden columns are not written.</summary>
        /// <exception cref="NotSupportedException">A column whose type cannot be written (named).</exception>
        /// <example>Runnable: <c>tests/MLNetRank.Tests/Data/ParquetTests.cs</c> (<c>dotnet test</c>).</example>
        public static void SaveAsParquet(this DataOperationsCatalog catalog, IDataView data, string path, int rowGroupSize = DefaultRowGroupSize)
        {
            if (path is null)
                throw new ArgumentNullException(nameof(path));
            var full = Path.GetFullPath(path);
            var tmp = full + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
            try
            {
                using (var stream = File.Create(tmp))
                    SaveAsParquet(catalog, data, stream, rowGroupSize);
                File.Move(tmp, full, overwrite: true);
            }
            finally
            {
                if (File.Exists(tmp))
                    File.Delete(tmp);
            }
        }

        /// <summary>Writes <paramref name="data"/> as Parquet to <paramref name="stream"/> (left open).</summary>
        /// <exception cref="NotSupportedException">A column whose type cannot be written (named).</exception>
        /// <example>Runnable: <c>tests/MLNetRank.Tests/Data/ParquetTests.cs</c> (<c>dotnet test</c>).</example>
        public static void SaveAsParquet(this DataOperationsCatalog catalog, IDataView data, Stream stream, int rowGroupSize = DefaultRowGroupSize)
        {
            if (catalog is null)
                throw new ArgumentNullException(nameof(catalog));
            if (data is null)
                throw new ArgumentNullException(nameof(data));
            if (stream is null)
                throw new ArgumentNullException(nameof(stream));
            if (rowGroupSize < 1)
                throw new ArgumentOutOfRangeException(nameof(rowGroupSize), rowGroupSize, "A row group holds at least one row.");
            ParquetSaver.Save(data, stream, rowGroupSize);
        }
    }
}
