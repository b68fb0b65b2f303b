// Handle clamp: a two-piece ring bolted around the trolley's handle tube, with a socket on
// top for the camera mast (an aluminium tube) and a flat pad below for the display
// housing (two M5 bolts, 75 mm apart). Print both halves flat in PETG, 4 walls, 40 % infill.
//
// Parameters (openscad -D name=value):
//   handle_d      outer diameter of the trolley handle tube, mm (measure it; 25-35 is common)
//   clamp_w       width of the clamp along the handle, mm
//   mast_d        outer diameter of the mast tube, mm
//   part          "upper", "lower" or "both" (both = assembled, for a look; print separately)

handle_d = 30;
clamp_w = 36;
wall = 6;
liner = 1.0;        // gap for a 1 mm rubber strip so the clamp grips without crushing the tube
bolt_d = 5.5;       // M5 clearance
nut_af = 8.4;       // M5 nut across flats + print tolerance
ear_w = 14;
mast_d = 16;
mast_socket_h = 40;
part = "both";

$fn = 96;
ring_r = handle_d / 2 + liner + wall;
bore_r = handle_d / 2 + liner;
ear_x = ring_r + ear_w / 2 - 2;
split_gap = 1.5;    // the halves stop short of touching so the bolts keep clamping force

module ring_half() {
    difference() {
        union() {
            intersection() {
                cylinder(h = clamp_w, r = ring_r, center = true);
                translate([-ring_r, 0, -clamp_w]) cube([2 * ring_r, ring_r, 2 * clamp_w]);
            }
            for (s = [-1, 1]) translate([s * ear_x - ear_w / 2 - 1, 0, -clamp_w / 2])
                cube([ear_w + 2, wall + 2, clamp_w]);
        }
        cylinder(h = clamp_w + 2, r = bore_r, center = true);
        for (s = [-1, 1]) translate([s * ear_x, -1, 0]) rotate([-90, 0, 0])
            cylinder(h = wall + 4, d = bolt_d);
        translate([-ring_r - ear_w - 2, -1, -clamp_w]) cube([2 * (ring_r + ear_w + 2), 1 + split_gap / 2, 2 * clamp_w]);
    }
}

module upper() {
    difference() {
        union() {
            ring_half();
            // Mast socket, standing on top of the ring.
            translate([0, ring_r - 2, 0]) rotate([-90, 0, 0])
                cylinder(h = mast_socket_h, d = mast_d + 2 * wall);
        }
        translate([0, bore_r + wall / 2, 0]) rotate([-90, 0, 0])
            cylinder(h = mast_socket_h + 2 * wall, d = mast_d + 0.4);
        // Grub screw (M4) that locks the mast's height and rotation.
        translate([0, ring_r + mast_socket_h / 2, 0]) rotate([0, 90, 0])
            cylinder(h = mast_d + 2 * wall + 2, d = 3.4);
        cylinder(h = clamp_w + 2, r = bore_r, center = true);
    }
}

module lower() {
    difference() {
        union() {
            rotate([0, 0, 180]) ring_half();
            // Pad for the display housing: two M5 bolts 75 mm apart.
            translate([-46, -ring_r - 4, -clamp_w / 2]) cube([92, 6, clamp_w]);
        }
        for (s = [-1, 1]) translate([s * ear_x, -wall - 3, 0]) rotate([-90, 0, 0])
            cylinder(h = 3.5, d = nut_af / cos(30), $fn = 6);
        for (s = [-1, 1]) translate([s * 37.5, -ring_r - 5, 0]) rotate([-90, 0, 0])
            cylinder(h = 8, d = 5.6);
        cylinder(h = clamp_w + 2, r = bore_r, center = true);
    }
}

if (part == "upper") upper();
else if (part == "lower") lower();
else { upper(); lower(); }
