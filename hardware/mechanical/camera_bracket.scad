// Camera bracket: caps the mast and holds a Raspberry Pi Camera Module 3 Wide looking forward
// and down into the basket at camera_tilt_deg below horizontal (hardware/coverage.py prints
// the tilt for your trolley), under a hood that keeps ceiling lights out of the lens. The
// 25 x 24 mm board screws to four M2 bosses (21 x 12.5 mm pattern) with its cable connector
// down, so the picture comes out upright; the flat cable goes through the plate and down a
// channel into the mast tube.
//
// Parameters (openscad -D name=value):
//   camera_tilt_deg   tilt of the optical axis below horizontal (0 = straight ahead, 90 = down)
//   mast_d            outer diameter of the mast tube, mm
//   hood_mm           how far the hood reaches out over the lens, mm

camera_tilt_deg = 49.5;
mast_d = 16;
hood_mm = 12;

wall = 3;
board = [25, 24];                                   // Camera Module 3 PCB, mm
holes = [[2, 2], [23, 2], [2, 14.5], [23, 14.5]];   // M2 holes from the board's top-left corner
lens_at = [12.5, 9.5];                              // lens centre from the top-left corner
plate = [board[0] + 2 * wall + 4, board[1] + 2 * wall + 8];
socket_h = 35;
// The plate sits ahead of the mast and only a little above the cap, so the cap and the gusset
// stay behind the plate's back face (out of the picture) however the tilt is set.
forward = 30;   // plate centre ahead of the mast axis
rise = 5;       // plate centre above the cap
$fn = 72;

// Plate frame: board face +z, board top towards -y (board coordinates map as below).
function at(p) = [p[0] - board[0] / 2, p[1] - board[1] / 2 - 2];

module camera_plate() {
    difference() {
        union() {
            translate([-plate[0] / 2, -plate[1] / 2, 0]) cube([plate[0], plate[1], wall]);
            for (h = holes) translate(concat(at(h), wall)) cylinder(h = 3, d = 5);
            // Hood along the board's top edge, reaching out over the lens.
            translate([-plate[0] / 2, -plate[1] / 2, 0]) cube([plate[0], wall, wall + 3 + hood_mm]);
        }
        for (h = holes) translate(concat(at(h), -1)) cylinder(h = wall + 5, d = 1.8);  // M2 x 6 self-tapping
        // Relief behind the sensor for the parts on the board's back.
        translate(concat(at(lens_at), -1)) cylinder(h = wall + 2, d = 9);
        // Cable slot below the board's connector edge.
        translate([-9, plate[1] / 2 - wall - 3, -1]) cube([18, 3, wall + 2]);
    }
}

module placed() {
    // rotate: the plate's normal (+z) turns to point forward (+y) and down by camera_tilt_deg.
    translate([0, forward, socket_h + rise]) rotate([-(90 + camera_tilt_deg), 0, 0]) children();
}

module mast_cap() cylinder(h = socket_h, d = mast_d + 2 * wall);

difference() {
    union() {
        mast_cap();
        placed() camera_plate();
        // Gusset from the cap to the plate's back, so a knock on the camera does not snap it off.
        hull() {
            translate([0, 0, socket_h - 1]) cylinder(h = 1, d = mast_d + 2 * wall);
            placed() translate([-plate[0] / 2, -plate[1] / 2, 0]) cube([plate[0], plate[1], 0.01]);
        }
    }
    translate([0, 0, -1]) cylinder(h = socket_h - wall + 1, d = mast_d + 0.4);
    translate([0, 0, socket_h / 2]) rotate([0, 90, 0]) cylinder(h = mast_d + 10, d = 3.4, center = true);
    // Cable channel from the plate's slot down into the mast bore.
    hull() {
        placed() translate([-9, plate[1] / 2 - wall - 3, -0.5]) cube([18, 3, 1]);
        translate([-9, -1.5, socket_h - wall - 2]) cube([18, 3, 1]);
    }
}
