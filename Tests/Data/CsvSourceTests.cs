using TrainManager.Data;
using TrainManager.Data.Sources.Csv;
using static TorchSharp.torch;

namespace TrainManager.Tests.Data;

public sealed class CsvSourceTests
{
    readonly string _dir = TestDirectory.Create("csv");

    string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    DataContext Context(string? run = null) => new(_dir, run, Seed: 3);

    [Fact]
    public void A_csv_with_a_header_maps_text_labels_to_sorted_class_indices_and_records_the_mapping()
    {
        Write("train.csv", "width,height,species\n1.5,2,virginica\n3,4,setosa\n5,6,versicolor\n");
        Write("test.csv", "width,height,species\n7,8,setosa\n");
        var run = TestDirectory.Create("csv-run");

        using var splits = new CsvSource(Context(run), "train.csv", testPath: "test.csv", label: "species").Open();
        using var batch = splits.Train.GetBatch([0, 1, 2]);

        Assert.Equal(new[] { 1.5f, 2, 3, 4, 5, 6 }, batch.Input.data<float>().ToArray());
        Assert.Equal(new long[] { 2, 0, 1 }, batch.Target.data<long>().ToArray());
        Assert.Equal(1, splits.Test.Count);
        var labels = File.ReadAllText(Path.Combine(run, "labels.json"));
        Assert.Contains("\"setosa\",", labels);
        Assert.True(labels.IndexOf("setosa", StringComparison.Ordinal) < labels.IndexOf("versicolor", StringComparison.Ordinal));
    }

    [Fact]
    public void A_plain_csv_is_read_lazily_by_row()
    {
        Write("train.csv", "a,b,label\n" + string.Concat(Enumerable.Range(0, 50).Select(i => $"{i},{-i},{i % 3}\n")));

        using var splits = new CsvSource(Context(), "train.csv", testFraction: 0.2).Open();
        var train = (SubsetDataset)splits.Train;
        using var batch = train.GetBatch([5, 0]);

        var rows = new[] { train.Indices[5], train.Indices[0] };
        Assert.Equal(rows.SelectMany(r => new[] { (float)r, -r }).ToArray(), batch.Input.data<float>().ToArray());
        Assert.Equal(rows.Select(r => r % 3).ToArray(), batch.Target.data<long>().ToArray());
    }

    [Fact]
    public void A_gzipped_tsv_without_a_header_is_read_with_a_tab_and_split_by_test_fraction()
    {
        DataFiles.GzipText(Path.Combine(_dir, "data.tsv.gz"), string.Concat(Enumerable.Range(0, 20).Select(i => $"{i}\t{i * 2}\t{i % 2}\n")));

        using var splits = new CsvSource(Context(), "data.tsv.gz", testFraction: 0.25).Open();

        Assert.Equal(15, splits.Train.Count);
        Assert.Equal(5, splits.Test.Count);
        using var all = splits.Train.GetBatch(Enumerable.Range(0, 15).Select(i => (long)i).ToArray());
        using var test = splits.Test.GetBatch(Enumerable.Range(0, 5).Select(i => (long)i).ToArray());
        var seen = all.Input.select(1, 0).data<float>().Concat(test.Input.select(1, 0).data<float>()).Order().ToArray();
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (float)i).ToArray(), seen);
    }

    [Fact]
    public void Value_targets_are_floats_with_a_column_per_label()
    {
        Write("train.csv", "x,y\n1,0.5\n2,1.5\n");

        using var splits = new CsvSource(Context(), "train.csv", testPath: "train.csv", target: "value").Open();
        using var batch = splits.Train.GetBatch([0, 1]);

        Assert.Equal(ScalarType.Float32, batch.Target.dtype);
        Assert.Equal(new long[] { 2, 1 }, batch.Target.shape);
        Assert.Equal(new[] { 0.5f, 1.5f }, batch.Target.data<float>().ToArray());
    }

    [Fact]
    public void Several_label_columns_give_a_multi_label_vector_and_features_can_be_chosen_by_name_and_index()
    {
        Write("train.csv", "id,f1,f2,cat,dog\n9,1,2,0,1\n8,3,4,1,1\n");

        using var splits = new CsvSource(Context(), "train.csv", testPath: "train.csv", labels: ["cat", "dog"], features: ["f1", "2"], target: "multi-label").Open();
        using var batch = splits.Train.GetBatch([1]);

        Assert.Equal(new[] { 3f, 4f }, batch.Input.data<float>().ToArray());
        Assert.Equal(new[] { 1f, 1f }, batch.Target.data<float>().ToArray());
    }

    [Fact]
    public void Features_take_the_configured_shape_and_normalisation()
    {
        Write("train.csv", "0,2,4,6,1\n");

        using var splits = new CsvSource(Context(), "train.csv", testPath: "train.csv", header: "false", shape: [1, 2, 2], mean: 2, std: 2).Open();
        using var batch = splits.Train.GetBatch([0]);

        Assert.Equal(new long[] { 1, 1, 2, 2 }, batch.Input.shape);
        Assert.Equal(new[] { -1f, 0, 1, 2 }, batch.Input.data<float>().ToArray());
    }

    [Fact]
    public void Quoted_fields_may_hold_the_delimiter()
    {
        Write("train.csv", "x,name\n1,\"Smith, J\"\n2,\"say \"\"hi\"\"\"\n");

        using var splits = new CsvSource(Context(), "train.csv", testPath: "train.csv").Open();
        using var batch = splits.Train.GetBatch([0, 1]);

        Assert.Equal(new long[] { 0, 1 }, batch.Target.data<long>().ToArray()); // ordinal: "Smith, J" sorts before "say \"hi\""
    }

    [Fact]
    public void A_missing_label_column_is_named_with_the_file_and_the_columns_there_are()
    {
        var file = Write("train.csv", "width,height,species\n1,2,a\n");

        var error = Assert.Throws<DatasetInvalidException>(() => new CsvSource(Context(), "train.csv", testPath: "train.csv", label: "specie").Open());

        Assert.Contains(file, error.Message);
        Assert.Contains("'specie'", error.Message);
        Assert.Contains("width, height, species", error.Message);
    }

    [Fact]
    public void A_ragged_row_is_reported_with_its_file_and_line()
    {
        var file = Write("train.csv", "a,b,c\n1,2,0\n\n3,4\n");

        var error = Assert.Throws<DatasetInvalidException>(() => new CsvSource(Context(), "train.csv", testFraction: 0.5).Open());

        Assert.StartsWith($"{file}, line 4: the row has 2 field(s), but the header has 3", error.Message);
    }

    [Fact]
    public void A_value_that_is_not_a_number_is_reported_with_its_line_and_column()
    {
        var file = Write("train.csv", "a,b,c\n1,2,0\n3,oops,1\n");

        var error = Assert.Throws<DatasetInvalidException>(() => new CsvSource(Context(), "train.csv", testFraction: 0.5).Open());

        Assert.StartsWith($"{file}, line 3, column 1 ('b'): \"oops\" is not a number", error.Message);
    }

    [Fact]
    public void A_quoted_field_that_runs_past_its_line_is_refused_with_the_line()
    {
        var file = Write("train.csv", "a,b\n1,\"open\n2,x\"\n");

        var error = Assert.Throws<DatasetInvalidException>(() => new CsvSource(Context(), "train.csv", testFraction: 0.5).Open());

        Assert.StartsWith($"{file}, line 2: a quoted field is not closed", error.Message);
    }

    [Fact]
    public void A_test_file_with_other_columns_is_refused()
    {
        Write("train.csv", "a,b\n1,0\n");
        var test = Write("test.csv", "a,c\n1,0\n");

        var error = Assert.Throws<DatasetInvalidException>(() => new CsvSource(Context(), "train.csv", testPath: "test.csv").Open());

        Assert.StartsWith($"{test}, line 1 (header)", error.Message);
    }

    [Fact]
    public void A_missing_file_says_where_it_was_looked_for()
    {
        var error = Assert.Throws<DatasetNotFoundException>(() => new CsvSource(Context(), "nope.csv", testFraction: 0.5).Open());

        Assert.Contains(Path.Combine(_dir, "nope.csv"), error.Message);
    }
}
