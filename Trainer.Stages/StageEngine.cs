using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace TrainManager.Stages;

/// <summary>
/// Runs the stages of one extensible: the frame stack, the fixtures and the hooks. Ordering rules
/// live here and only here: pre hooks in (Order, registration) order, post hooks in reverse.
/// A routine runs on one thread at a time; the engine is not shared between threads.
/// </summary>
public sealed class StageEngine
{
    private sealed class StageHooks(string name)
    {
        public readonly string Name = name;
        public BoundHook[] Pre = [];
        public BoundHook[] Post = [];
        public long Instances;
    }

    private sealed class Frame
    {
        public StageHooks Hooks = null!;
        /// <summary>The declared stage this frame runs, when the extensible declares its tree exactly.</summary>
        public StageNode? Node;
        public long Instance;
        public bool Skipped;
        public readonly List<int> Defined = new(8);
    }

    [ThreadStatic] private static StageEngine? _current;

    private readonly Dictionary<string, StageHooks> _stages = new(StringComparer.Ordinal);
    private readonly List<BoundHook> _hooks = new();
    private readonly List<Extension> _extensions = new();
    /// <summary>The actors of blocking and observing extensions: started when a routine starts, stopped when it ends.</summary>
    private readonly Dictionary<Extension, IHostedExtension> _hosts = new(ReferenceEqualityComparer.Instance);
    /// <summary>The declared tree the running routine is held to (null: none), and how closely.</summary>
    private StageTree? _tree;
    private StageTreeConformance _conformance;
    private Frame[] _frames = new Frame[8];
    private int _depth;
    private object?[] _values = new object?[64];
    private int[] _ownerDepth = Enumerable.Repeat(-1, 64).ToArray();
    private Extension?[] _definedBy = new Extension?[64];
    private Exception? _observed;
    private Exception? _notified;
    private string? _stopReason;

    /// <summary>Whether this runtime tells a finally block that an exception is unwinding through it.</summary>
    private static readonly bool CanSeeUnwinding = ProbeUnwindingDetection();

    static StageEngine()
    {
        // A 'using' block cannot see the exception that is unwinding through it. The engine notes every exception
        // thrown on a thread that is inside a stage (to name it), and asks the runtime whether one is unwinding
        // right now when a stage exits (to tell a failing stage from one whose body caught an exception itself).
        AppDomain.CurrentDomain.FirstChanceException += static (_, e) =>
        {
            if (_current is { _depth: > 0 } engine) engine._observed = e.Exception;
        };
    }

    private static bool IsUnwinding() => !CanSeeUnwinding || Marshal.GetExceptionPointers() != IntPtr.Zero;

    private static bool ProbeUnwindingDetection()
    {
        var seen = false;
        try
        {
            try { throw new InvalidOperationException("probe"); }
            finally { seen = Marshal.GetExceptionPointers() != IntPtr.Zero; }
        }
        catch (InvalidOperationException) { }
        return seen && Marshal.GetExceptionPointers() == IntPtr.Zero;
    }

    internal StageEngine(Extensible owner)
    {
        Owner = owner;
        Control = new StageControl(owner);
        for (var i = 0; i < _frames.Length; i++) _frames[i] = new Frame();
    }

    public Extensible Owner { get; }
    public StageControl Control { get; }
    public int Depth => _depth;
    public bool StopRequested => _stopReason is not null;
    public string? StopReason => _stopReason;
    public IReadOnlyList<Extension> Extensions => _extensions;
    public IReadOnlyList<BoundHook> Hooks => _hooks;
    internal Action<TraceEvent>? Trace { get; set; }
    internal IStageListener? Listener { get; set; }

    // ---- registration -------------------------------------------------------------------------

    internal void Register(Extension extension, StageTree? declared)
    {
        if (_depth > 0)
            throw new InvalidOperationException($"Cannot register {extension.Name} while stage '{StagePath}' is running; register extensions before the routine starts.");
        if (_extensions.Contains(extension))
            throw new HookRegistrationException($"{extension.Name} is already registered on {Owner.GetType().Name}.");

        var found = DiscoverHooks(extension);
        if (declared is not null) Validate(found, declared);
        _extensions.Add(extension);
        _hooks.AddRange(found);
        foreach (var stage in _stages.Values) Rebuild(stage);
    }

    private List<BoundHook> DiscoverHooks(Extension extension)
    {
        var hooks = new List<BoundHook>();
        var methods = extension.GetType().GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance)
            .Where(m => m.DeclaringType != typeof(Extension) && m.DeclaringType != typeof(object) && !m.IsSpecialName);
        foreach (var method in methods)
        {
            HookPhase phase;
            string suffix;
            if (method.Name.StartsWith("Pre", StringComparison.Ordinal) && method.Name.Length > 3 && char.IsUpper(method.Name[3]))
                (phase, suffix) = (HookPhase.Pre, method.Name[3..]);
            else if (method.Name.StartsWith("Post", StringComparison.Ordinal) && method.Name.Length > 4 && char.IsUpper(method.Name[4]))
                (phase, suffix) = (HookPhase.Post, method.Name[4..]);
            else continue;
            if (method.IsDefined(typeof(NotAHookAttribute), true)) continue;
            if (method.IsGenericMethodDefinition)
                throw new HookRegistrationException($"{extension.Name}.{method.Name} is generic; hooks must be plain methods.");
            if (method.ReturnType != typeof(void))
                throw new HookRegistrationException($"{extension.Name}.{method.Name} returns {method.ReturnType.Name}; hooks return void. Mark helpers with [NotAHook].");
            hooks.Add(new BoundHook(extension, method, StageNaming.ToSnakeCase(suffix), phase, _hooks.Count + hooks.Count, Owner.GetType(), this));
        }
        return hooks;
    }

    private void Validate(List<BoundHook> hooks, StageTree tree)
    {
        var extraProvided = _hooks.Concat(hooks).SelectMany(h => h.Provides.Select(f => (h.Stage, f))).ToList();
        foreach (var hook in hooks)
        {
            var nodes = tree.Find(hook.Stage).ToList();
            if (nodes.Count == 0)
            {
                var suggestions = DidYouMean.Ranked(hook.Stage, tree.All.Select(n => n.Name).Distinct());
                throw new HookRegistrationException(
                    $"{hook.DisplayName} hooks stage '{hook.Stage}', which {Owner.GetType().Name} does not have." +
                    (suggestions.Count > 0 ? $" Did you mean {string.Join(" or ", suggestions.Select(s => $"'{s}' ({hook.Phase}{StageNaming.ToPascalCase(s)})"))}?" : "") +
                    $" Stages: {string.Join(", ", tree.All.Select(n => n.Path))}.");
            }
            foreach (var node in nodes)
            {
                var declared = node.AliveDeclarationsAt(hook.Phase);
                var alive = declared.Select(d => d.Name).ToHashSet();
                foreach (var (stage, fixture) in extraProvided)
                    if (stage == node.Name || node.Path.Contains(stage + "/", StringComparison.Ordinal)) alive.Add(fixture);
                foreach (var p in hook.Parameters)
                {
                    if (p.Kind != HookParameterKind.Fixture) continue;
                    if (!alive.Contains(p.Fixture!))
                    {
                        if (p.IsOptional) continue;
                        var suggestions = DidYouMean.Ranked(p.Fixture!, alive.Order(StringComparer.Ordinal));
                        var where = tree.Fixtures.Any(d => d.Name == p.Fixture) ? " " + tree.DescribeWhere(p.Fixture!) : "";
                        throw new HookRegistrationException(
                            $"{hook.DisplayName} asks for fixture '{p.Fixture}' (parameter '{p.Name}'), which is never alive at stage " +
                            $"'{node.Path}' ({hook.Phase.ToString().ToLowerInvariant()} hook).{where}" +
                            (suggestions.Count > 0 ? $" Did you mean '{string.Join("' or '", suggestions)}'?" : "") +
                            $" Alive there: {string.Join(", ", alive.Order())}. Give the parameter a default if it is optional.");
                    }
                    foreach (var d in declared)
                        if (d.Name == p.Fixture && !CanReceive(p.Type, d))
                            throw new HookRegistrationException(
                                $"{hook.DisplayName}: parameter '{p.Name}' is {StageNaming.TypeName(p.Type)}, but fixture '{d.Name}' at stage " +
                                $"'{node.Path}' is declared {d.TypeName}. Write '{d.TypeName} {p.Name}'" +
                                (d.Type.IsValueType ? " (or a number type it converts to)" : " (or a type it derives from)") +
                                (d.Hint is null ? "." : $": {d.Hint}."));
                }
            }
        }
    }

    /// <summary>Whether a hook parameter of this type can take every value of the declared fixture: the declared type
    /// or one it derives from, or a number from a number (converted when the hook is called, as at run time).</summary>
    private static bool CanReceive(Type parameter, FixtureDeclaration declared)
    {
        if (declared.Type == typeof(object) || parameter.IsAssignableFrom(declared.Type)) return true;
        var target = Nullable.GetUnderlyingType(parameter) ?? parameter;
        return target.IsAssignableFrom(declared.Type) || (target.IsPrimitive && declared.Type.IsPrimitive);
    }

    private StageHooks HooksFor(string stage)
    {
        if (_stages.TryGetValue(stage, out var hooks)) return hooks;
        hooks = new StageHooks(stage);
        Rebuild(hooks);
        _stages[stage] = hooks;
        return hooks;
    }

    private void Rebuild(StageHooks stage)
    {
        var mine = _hooks.Where(h => h.Stage == stage.Name)
            .OrderBy(h => h.Extension.Order).ThenBy(h => h.RegistrationIndex).ToList();
        stage.Pre = mine.Where(h => h.Phase == HookPhase.Pre).ToArray();
        stage.Post = mine.Where(h => h.Phase == HookPhase.Post).Reverse().ToArray();
    }

    // ---- stages -------------------------------------------------------------------------------

    internal int Enter(string stage, ReadOnlySpan<(string Name, object? Value)> fixtures)
    {
        var hooks = HooksFor(stage);
        if (_depth == 0) BeginRoutine();
        _observed = null;
        if (_depth == _frames.Length) GrowFrames();
        var parentSkipped = _depth > 0 && _frames[_depth - 1].Skipped;
        var frame = _frames[_depth];
        frame.Hooks = hooks;
        frame.Instance = ++hooks.Instances;
        frame.Skipped = parentSkipped || _stopReason is not null;
        frame.Defined.Clear();
        var index = _depth++;
        try
        {
            frame.Node = _tree is null ? null : DeclaredStage(index, stage);
            foreach (var (name, value) in fixtures) DefineAt(index, name, value, null, onEntry: true);
            Listener?.Entered(stage, index, frame.Instance);
            if (Trace is not null) Trace(new TraceEvent(frame.Skipped ? TraceKind.Skip : TraceKind.Enter, StagePath, frame.Instance, null, null));
            if (!frame.Skipped) RunHooks(hooks.Pre, frame, HookPhase.Pre);
        }
        catch (Exception e)
        {
            Unwind(index, e);
            throw;
        }
        return index;
    }

    internal bool IsSkipped(int index) => index < _depth && _frames[index].Skipped;

    internal void Exit(int index)
    {
        if (index != _depth - 1)
            throw new InvalidOperationException(
                $"Stage '{_frames[index].Hooks.Name}' was closed while inner stage '{StagePath}' is still open; dispose stages in reverse order (use 'using').");
        var frame = _frames[index];
        var pending = _observed;
        if (pending is not null && IsUnwinding())
        {
            Unwind(index, pending);
            return;
        }
        try
        {
            if (!frame.Skipped) RunHooks(frame.Hooks.Post, frame, HookPhase.Post);
        }
        catch (Exception e)
        {
            Unwind(index, e);
            throw;
        }
        Release(frame);
        Trace?.Invoke(new TraceEvent(TraceKind.Exit, StagePath, frame.Instance, null, null));
        _depth--;
        Listener?.Exited(frame.Hooks.Name, index, false);
        if (_depth == 0) EndRoutine();
    }

    private void RunHooks(BoundHook[] hooks, Frame frame, HookPhase phase)
    {
        for (var i = 0; i < hooks.Length; i++)
        {
            var hook = hooks[i];
            if (hook.Every > 1 && (frame.Instance - 1) % hook.Every != 0) continue;
            if (Trace is not null) Trace(new TraceEvent(TraceKind.Hook, StagePath, frame.Instance, phase, hook.DisplayName));
            try
            {
                if (hook.Host is null) hook.Inline(hook.Extension, this, hook);
                else InvokeHosted(hook);
            }
            catch (Exception e) when (e is not HookFailedException)
            {
                throw new HookFailedException(hook.Extension.Name, hook.Method.Name, StagePath, e);
            }
            if (frame.Skipped) return;
        }
    }

    private void InvokeHosted(BoundHook hook)
    {
        var args = hook.ResolveArguments(this, hook);
        if (hook.Extension.Hosting == ExtensionHosting.Observing)
        {
            hook.Host!.Post(hook, args);
            return;
        }
        foreach (var change in hook.Host!.Call(hook, args))
        {
            if (change.IsReplace) Replace(change.Name, change.Value, hook.Extension, hook.DisplayName);
            else Define(change.Name, change.Value, hook.Extension);
        }
    }

    private void Unwind(int index, Exception error)
    {
        // Inner frames first (a pre hook of an inner stage may have failed before its scope existed).
        while (_depth > index)
        {
            var frame = _frames[_depth - 1];
            Release(frame);
            _depth--;
            Listener?.Exited(frame.Hooks.Name, _depth, true);
        }
        error.Data["TrainManager.StagePath"] ??= StagePathWith(_frames[index].Hooks.Name);
        var alreadyNotified = _notified is not null &&
            (ReferenceEquals(_notified, error) || ReferenceEquals(_notified, error.InnerException) || ReferenceEquals(_notified.InnerException, error));
        if (!alreadyNotified)
        {
            _notified = error;
            var failure = new StageFailure(error.Data["TrainManager.StagePath"] as string ?? "",
                (error as HookFailedException)?.Extension, (error as HookFailedException)?.Hook, error);
            foreach (var ext in _extensions)
            {
                try
                {
                    if (_hosts.TryGetValue(ext, out var host)) host.NotifyFailure(failure);
                    else ext.OnFailure(failure);
                }
                catch (Exception notifyError)
                {
                    // A failing failure handler must not hide the original error; it is attached instead.
                    error.Data[$"TrainManager.OnFailure.{ext.Name}"] = notifyError.Message;
                }
            }
        }
        if (_depth == 0) EndRoutine();
    }

    private string StagePathWith(string leaf) => _depth == 0 ? leaf : $"{StagePath}/{leaf}";

    private void BeginRoutine()
    {
        foreach (var s in _stages.Values) s.Instances = 0;
        _stopReason = null;
        _notified = null;
        _current = this;
        _tree = Owner.DeclaredStages;
        _conformance = Owner.Conformance;
        StartHosts();
    }

    private void EndRoutine()
    {
        _observed = null;
        if (ReferenceEquals(_current, this)) _current = null;
        try
        {
            foreach (var host in _hosts.Values) host.Flush();
            foreach (var ext in _extensions)
                if (!_hosts.ContainsKey(ext)) ext.OnRoutineEnd();
        }
        finally
        {
            StopHosts();
        }
    }

    /// <summary>Each blocking or observing extension gets an actor for the routine (in the extensible's actor system,
    /// which may have been set after the extension was registered).</summary>
    private void StartHosts()
    {
        foreach (var extension in _extensions)
        {
            if (extension.Hosting == ExtensionHosting.Inline) continue;
            var hosts = Owner.Hosts ?? ExtensibleHosts.Default ?? throw new InvalidOperationException(
                $"Extension {extension.Name} is {extension.Hosting.ToString().ToLowerInvariant()} and needs a host, but {Owner.GetType().Name} has none: " +
                "set its Hosts (Trainer.Core's `extensible.UseActors(system)` hosts each such extension on an actor), or make the extension inline.");
            var host = hosts.Start(extension);
            _hosts[extension] = host;
            foreach (var hook in _hooks)
                if (ReferenceEquals(hook.Extension, extension)) hook.Host = host;
        }
    }

    /// <summary>The routine is over: its extension actors are stopped, so nothing of the run outlives it.</summary>
    private void StopHosts()
    {
        foreach (var host in _hosts.Values) host.Stop();
        _hosts.Clear();
    }

    private void GrowFrames()
    {
        var bigger = new Frame[_frames.Length * 2];
        Array.Copy(_frames, bigger, _frames.Length);
        for (var i = _frames.Length; i < bigger.Length; i++) bigger[i] = new Frame();
        _frames = bigger;
    }

    internal void Skip(string? stage)
    {
        if (_depth == 0) throw new InvalidOperationException("SkipStage was called outside any stage.");
        var index = _depth - 1;
        if (stage is not null)
        {
            while (index >= 0 && _frames[index].Hooks.Name != stage) index--;
            if (index < 0) throw new InvalidOperationException($"SkipStage(\"{stage}\"): no enclosing stage of that name in '{StagePath}'.");
        }
        for (var i = index; i < _depth; i++) _frames[i].Skipped = true;
    }

    internal void RequestStop(string reason)
    {
        _stopReason ??= reason;
    }

    // ---- fixtures -----------------------------------------------------------------------------

    internal void Define(string name, object? value, Extension? by) => DefineAt(_depth - 1, name, value, by, onEntry: false);

    /// <summary>Defines a fixture owned by the enclosing stage named <paramref name="stage"/>: it is visible now
    /// and lives until that stage exits (the batch's loss is computed inside the loss stage but read after it).</summary>
    internal void DefineIn(string stage, string name, object? value)
    {
        var index = _depth - 1;
        while (index >= 0 && _frames[index].Hooks.Name != stage) index--;
        if (index < 0)
            throw new InvalidOperationException($"Cannot define '{name}' in stage '{stage}': no enclosing stage of that name in '{StagePath}'.");
        DefineAt(index, name, value, null, onEntry: false);
    }

    private void DefineAt(int frameIndex, string name, object? value, Extension? by, bool onEntry)
    {
        if (frameIndex < 0)
            throw new InvalidOperationException($"Fixture '{name}' was defined outside any stage; define fixtures inside a Staged(...) block.");
        _observed = null;
        var id = FixtureKeys.IdOf(name);
        EnsureCapacity(id);
        if (_ownerDepth[id] >= 0)
            throw new FixtureRedefinedException(name, PathTo(_ownerDepth[id]), StagePath);
        // The extensible's own fixtures are held to its declaration; those extensions add are theirs to name.
        if (by is null && _tree is not null) Conform(frameIndex, id, name, value, onEntry);
        _values[id] = value;
        _ownerDepth[id] = frameIndex;
        _definedBy[id] = by;
        _frames[frameIndex].Defined.Add(id);
    }

    internal void Replace(string name, object? value, Extension? by, string? requester)
    {
        _observed = null;
        var id = FixtureKeys.IdOf(name);
        if (id >= _ownerDepth.Length || _ownerDepth[id] < 0)
            throw new FixtureNotFoundException(name, requester ?? "Replace", StagePath, AliveNames());
        if (by is not null && !ReferenceEquals(_definedBy[id], by) && Owner.DeclaredStages is { } tree && !tree.IsReplaceable(name))
            throw new FixtureReplaceDeniedException(
                $"{requester} may not replace fixture '{name}' in stage '{StagePath}': it was defined by " +
                $"{_definedBy[id]?.Name ?? Owner.GetType().Name} and is not declared replaceable. " +
                $"Replaceable fixtures: {string.Join(", ", tree.All.SelectMany(n => n.ReplaceableFixtures).Distinct())}.");
        if (_tree is not null) ConformReplacement(id, name, value, requester);
        _values[id] = value;
    }

    // ---- conformance to the declared tree --------------------------------------------------------

    /// <summary>The declared stage that <c>Staged(stage)</c> enters at this depth; with <see cref="StageTreeConformance.Exact"/>
    /// one comparison per declared sibling, otherwise a set lookup.</summary>
    private StageNode? DeclaredStage(int index, string stage)
    {
        var tree = _tree!;
        if (_conformance == StageTreeConformance.NamesAndTypes)
            return tree.HasStage(stage) ? null : throw StageNotDeclared(index, stage, tree.All.Select(n => n.Name).Distinct());
        var parent = index == 0 ? null : _frames[index - 1].Node;
        var node = parent is null ? tree.RootNamed(stage) : parent.ChildNamed(stage);
        return node ?? throw StageNotDeclared(index, stage, (parent?.Children ?? tree.Roots).Select(n => n.Name));
    }

    private StageTreeMismatchException StageNotDeclared(int index, string stage, IEnumerable<string> declared) =>
        new($"{Owner.GetType().Name} enters stage '{stage}' {(index == 0 ? "as a routine" : $"inside '{PathTo(index - 1)}'")}, " +
            $"where its declared stage tree has no such stage (declared {(_conformance == StageTreeConformance.Exact ? "there" : "anywhere")}: " +
            $"{string.Join(", ", declared)}). Its Staged(...) calls and its DeclareStages() must agree: declare the stage, or fix the call.");

    private void Conform(int frameIndex, int id, string name, object? value, bool onEntry)
    {
        FixtureDeclaration? declared;
        if (_conformance == StageTreeConformance.Exact)
        {
            var candidate = _frames[frameIndex].Node!.KeptDeclaration(id);
            declared = candidate is not null && ReferenceEquals(candidate.DefinedIn, _frames[_depth - 1].Node) && candidate.OnEntry == onEntry
                ? candidate : null;
            if (declared is null) throw FixtureNotDeclared(name, onEntry, frameIndex);
            if (!declared.Accepts(value)) throw FixtureOfWrongType(name, value, [declared]);
            return;
        }
        var all = _tree!.DeclarationsOf(id) ?? throw FixtureNotDeclared(name, onEntry, frameIndex);
        foreach (var d in all)
            if (d.Accepts(value)) return;
        throw FixtureOfWrongType(name, value, all);
    }

    private void ConformReplacement(int id, string name, object? value, string? requester)
    {
        var declared = _conformance == StageTreeConformance.Exact
            ? (_frames[_ownerDepth[id]].Node?.KeptDeclaration(id) is { } kept ? [kept] : null)
            : _tree!.DeclarationsOf(id);
        if (declared is null) return;
        foreach (var d in declared)
            if (d.Accepts(value)) return;
        throw FixtureOfWrongType(name, value, declared, requester);
    }

    private StageTreeMismatchException FixtureNotDeclared(string name, bool onEntry, int frameIndex)
    {
        var here = _frames[_depth - 1].Node;
        var declaredHere = here is null ? "" : $" Declared at '{StagePath}': {string.Join(", ", here.AliveAt(HookPhase.Post).Order())}.";
        return new StageTreeMismatchException(
            $"{Owner.GetType().Name} defines fixture '{name}' {(onEntry ? "on entry to" : "in")} stage '{StagePath}'" +
            (frameIndex == _depth - 1 ? "" : $" for '{PathTo(frameIndex)}'") +
            $", which its declared stage tree does not declare there. {_tree!.DescribeWhere(name)}{declaredHere} " +
            "Its code and its DeclareStages() must agree: declare the fixture there (with its type), or define it where the tree says.");
    }

    private StageTreeMismatchException FixtureOfWrongType(string name, object? value, IReadOnlyList<FixtureDeclaration> declared, string? requester = null) =>
        new($"{requester ?? Owner.GetType().Name} {(requester is null ? "defines" : "replaces")} fixture '{name}' in stage '{StagePath}' with " +
            $"{(value is null ? "null" : $"a {StageNaming.TypeName(value.GetType())}")}, but the declared stage tree of {Owner.GetType().Name} " +
            $"says it is {StageNaming.JoinWithOr(declared.Select(d => d.TypeName).Distinct().ToList())}. " +
            "Hooks are checked against the declared type: fix the value, or the declaration (MayBeNull for a fixture that may be null).");

    internal bool TryGet(string name, out object? value)
    {
        _observed = null;
        var id = FixtureKeys.IdOf(name);
        if (id < _ownerDepth.Length && _ownerDepth[id] >= 0)
        {
            value = _values[id];
            return true;
        }
        value = null;
        return false;
    }

    internal object? Get(string name) =>
        TryGet(name, out var value) ? value : throw new FixtureNotFoundException(name, Owner.GetType().Name, StagePath, AliveNames());

    /// <summary>The hot path of a hook call: an array read and a type test; no allocation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal T GetForHook<T>(BoundHook hook, int parameter)
    {
        var id = hook.FixtureIds[parameter];
        if ((uint)id < (uint)_ownerDepth.Length && _ownerDepth[id] >= 0)
        {
            var value = _values[id];
            if (value is T typed) return typed;
            if (value is null && default(T) is null) return default!;
            return ConvertOrThrow<T>(hook, parameter, value);
        }
        var p = hook.Parameters[parameter];
        if (p.IsOptional) return p.Default is T d ? d : default!;
        throw new FixtureNotFoundException(p.Fixture!, $"Hook {hook.DisplayName} (parameter '{p.Name}')", StagePath, AliveNames());
    }

    private static T ConvertOrThrow<T>(BoundHook hook, int parameter, object? value)
    {
        var p = hook.Parameters[parameter];
        // Numeric widening a user would expect (an int fixture read as long or double) is allowed.
        var target = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        if (value is IConvertible && target.IsPrimitive && value.GetType().IsPrimitive)
        {
            try { return (T)Convert.ChangeType(value, target, System.Globalization.CultureInfo.InvariantCulture); }
            catch (Exception e) when (e is InvalidCastException or OverflowException) { }
        }
        throw new FixtureTypeMismatchException(p.Fixture!, $"Hook {hook.DisplayName} (parameter '{p.Name}')", typeof(T), value?.GetType() ?? typeof(object));
    }

    private void Release(Frame frame)
    {
        foreach (var id in frame.Defined)
        {
            _values[id] = null;
            _ownerDepth[id] = -1;
            _definedBy[id] = null;
        }
        frame.Defined.Clear();
    }

    private void EnsureCapacity(int id)
    {
        if (id < _values.Length) return;
        var size = Math.Max(id + 1, _values.Length * 2);
        var oldLength = _ownerDepth.Length;
        Array.Resize(ref _values, size);
        Array.Resize(ref _definedBy, size);
        Array.Resize(ref _ownerDepth, size);
        Array.Fill(_ownerDepth, -1, oldLength, size - oldLength);
    }

    public IReadOnlyList<string> AliveNames()
    {
        var names = new List<string>();
        for (var d = 0; d < _depth; d++)
            foreach (var id in _frames[d].Defined) names.Add(FixtureKeys.NameOf(id));
        return names;
    }

    /// <summary>The live fixtures with the stage that owns each, outermost first.</summary>
    public IReadOnlyList<(string Stage, string Fixture, object? Value)> AliveFixtures()
    {
        var list = new List<(string, string, object?)>();
        for (var d = 0; d < _depth; d++)
            foreach (var id in _frames[d].Defined) list.Add((_frames[d].Hooks.Name, FixtureKeys.NameOf(id), _values[id]));
        return list;
    }

    public string StagePath => PathTo(_depth - 1);

    private string PathTo(int depth)
    {
        if (depth < 0) return "(no stage)";
        var parts = new string[depth + 1];
        for (var d = 0; d <= depth; d++) parts[d] = _frames[d].Hooks.Name;
        return string.Join('/', parts);
    }

    /// <summary>Current stage path with each stage's instance number, and every stage's instance count.</summary>
    public (IReadOnlyList<(string Stage, long Instance)> Path, IReadOnlyDictionary<string, long> Counters) Snapshot() =>
        (Enumerable.Range(0, _depth).Select(d => (_frames[d].Hooks.Name, _frames[d].Instance)).ToList(),
         _stages.Values.Where(s => s.Instances > 0).ToDictionary(s => s.Name, s => s.Instances));
}
